using System.Net;
using Microsoft.Extensions.Logging;

namespace Pipeline.Tests.Api;

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
}
