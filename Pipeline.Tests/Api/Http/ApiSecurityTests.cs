using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Http;

public sealed class ApiSecurityTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    [Theory]
    [InlineData(ApiRequests.Events)]
    [InlineData(ApiRequests.Batch)]
    public async Task RequestWithoutAnApiKeyGets401AndProducesNothing(string path)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        using var anonymous = api.CreateApiClient(apiKey: null);

        var response = await client.AssertProducesNothingAsync(() => anonymous.PostAsync(path, "[" + ApiRequests.NewEvent(out _) + "]"));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-missing");
        Assert.Equal("ApiKey", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData(IngestApiFactory.ApiKey + " ")]
    [InlineData("TEST-KEY-7C1D2B9E4F6A4D0B")]
    public async Task RequestWithAWrongApiKeyGets401AndProducesNothing(string key)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        using var impostor = api.CreateApiClient(apiKey: key);

        var response = await client.AssertProducesNothingAsync(() => impostor.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _)));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-invalid");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task TheApiKeyIsCheckedBeforeAnythingElseAboutTheRequest(string? contentType)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?> { ["Ingest:MaxBodyBytes"] = "1024" });
        using var anonymous = api.CreateApiClient(apiKey: null);

        var response = await anonymous.PostAsync(ApiRequests.Events, new string('x', 5000), contentType);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-missing");
    }

    [Fact]
    public async Task TwoApiKeyHeadersAreRefusedEvenIfOneIsRight()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "wrong-key");

        var response = await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-invalid");
    }

    [Fact]
    public async Task EveryConfiguredKeyIsAccepted()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var second = api.CreateApiClient(IngestApiFactory.SecondApiKey);

        var response = await second.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/scalar")]
    public async Task HealthOpenApiAndItsUiNeedNoKey(string path)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var anonymous = api.CreateApiClient(apiKey: null);

        var response = await anonymous.GetAsync(path);

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task ApiKeysNeverAppearInTheLogs()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers,
            new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace" });
        using var client = api.CreateApiClient();
        using var impostor = api.CreateApiClient("an-attempted-key-5d8e");

        await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));
        await client.PostAsync(ApiRequests.Events, "{}");
        await impostor.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));

        var logs = api.Logs.Entries;
        Assert.Contains(logs, entry => entry.Level == LogLevel.Trace || entry.Level == LogLevel.Debug);
        Assert.Contains(logs, entry => entry.Message.Contains("ApiKey", StringComparison.Ordinal));
        Assert.All(logs, entry =>
        {
            Assert.DoesNotContain(IngestApiFactory.ApiKey, entry.AllText, StringComparison.Ordinal);
            Assert.DoesNotContain(IngestApiFactory.SecondApiKey, entry.AllText, StringComparison.Ordinal);
            Assert.DoesNotContain("an-attempted-key-5d8e", entry.AllText, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task RequestOverTheRateLimitGets429WithRetryAfterAndProducesNothingWhileOtherKeysGoOn()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?>
        {
            ["Api:RateLimit:TokenLimit"] = "3",
            ["Api:RateLimit:TokensPerPeriod"] = "1",
            ["Api:RateLimit:ReplenishmentPeriod"] = "00:01:00",
        });
        using var limited = api.CreateApiClient();
        using var other = api.CreateApiClient(IngestApiFactory.SecondApiKey);

        var before = await other.PostMarkerAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await limited.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await limited.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await limited.PostAsync(ApiRequests.Batch, "[" + ApiRequests.NewEvent(out _) + "]")).StatusCode);
        var refused = await limited.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));
        var after = await other.PostMarkerAsync();

        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal(before.Offset + 4, after.Offset); // three accepted, the refused one not
    }

    [Theory]
    [InlineData("GET", ApiRequests.Events)]
    [InlineData("PUT", ApiRequests.Batch)]
    [InlineData("DELETE", "/api/keys")]
    [InlineData("POST", "/api/aggregates/sensor-7")]
    [InlineData("HEAD", ApiRequests.Events)]
    [InlineData("GET", "/api/nothing-here")]
    [InlineData("OPTIONS", "/api/events")]
    public async Task WithoutAKeyEveryApiPathAndMethodIs401NotA404Or405(string method, string path)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var anonymous = api.CreateApiClient(apiKey: null);

        var response = await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        if (method != "HEAD")
        {
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-missing");
        }
    }

    [Fact]
    public async Task FailedAuthenticationsAreThrottledPerAddressWhileAValidKeyGoesOn()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?>
        {
            ["Api:RateLimit:Unauthenticated:TokenLimit"] = "3",
            ["Api:RateLimit:Unauthenticated:TokensPerPeriod"] = "1",
            ["Api:RateLimit:Unauthenticated:ReplenishmentPeriod"] = "00:01:00",
        });
        using var guesser = api.CreateApiClient("guess-0001");
        using var client = api.CreateApiClient();

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            guesser.DefaultRequestHeaders.Remove("X-Api-Key");
            guesser.DefaultRequestHeaders.Add("X-Api-Key", $"guess-{i:D4}");
            var response = await guesser.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));
            answers.Add(response.StatusCode);
            if (i == 4)
            {
                await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
                Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
            }
        }

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], answers);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).StatusCode);
    }

    [Fact]
    public async Task IngestCountsEventsNotRequestsAgainstTheKeysBudget()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?>
        {
            ["Api:RateLimit:Events:TokenLimit"] = "10",
            ["Api:RateLimit:Events:TokensPerPeriod"] = "10",
            ["Api:RateLimit:Events:ReplenishmentPeriod"] = "00:01:00",
            ["Ingest:MaxBatchSize"] = "10",
        });
        using var limited = api.CreateApiClient();
        using var other = api.CreateApiClient(IngestApiFactory.SecondApiKey);
        string Batch(int events) => "[" + string.Join(",", Enumerable.Range(0, events).Select(_ => ApiRequests.NewEvent(out string _))) + "]";

        var before = await other.PostMarkerAsync();
        var six = await limited.PostAsync(ApiRequests.Batch, Batch(6));
        var five = await limited.PostAsync(ApiRequests.Batch, Batch(5));
        var four = await limited.PostAsync(ApiRequests.Batch, Batch(4));
        var after = await other.PostMarkerAsync();

        Assert.Equal(HttpStatusCode.Accepted, six.StatusCode);
        var problem = await five.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.Contains("events", problem.GetProperty("title").GetString());
        Assert.InRange(five.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.Accepted, four.StatusCode);
        Assert.Equal(before.Offset + 11, after.Offset); // six and four, not the five refused
    }

    [Fact]
    public async Task AnUnknownOpenApiDocumentIsA404Problem()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var anonymous = api.CreateApiClient(apiKey: null);

        var response = await anonymous.GetAsync("/openapi/v2.json");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task TheOpenApiDocumentDoesNotEchoTheRequestsHost()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var anonymous = api.CreateApiClient(apiKey: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Host = "attacker.example";

        var response = await anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("attacker.example", await response.Content.ReadAsStringAsync());
    }
}
