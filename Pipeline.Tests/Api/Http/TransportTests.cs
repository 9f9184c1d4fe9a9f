using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Http;

/// <summary>The headers every answer carries, and what the API believes of a TLS-terminating proxy.</summary>
public sealed class TransportTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    [Theory]
    [InlineData("POST", ApiRequests.Events, true, true)]
    [InlineData("POST", ApiRequests.Events, false, true)]
    [InlineData("GET", "/api/nothing-here", true, true)]
    [InlineData("GET", "/api/keys?limit=abc", true, true)]
    [InlineData("GET", "/openapi/v1.json", false, false)]
    [InlineData("GET", "/health", false, false)]
    [InlineData("GET", "/nothing-here", false, false)]
    public async Task EveryAnswerSaysNosniffAndKeyedAnswersAreNeverStored(string method, string path, bool withKey, bool keyed)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient(withKey ? IngestApiFactory.ApiKey : null);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = ApiRequests.Content(System.Text.Encoding.UTF8.GetBytes(ApiRequests.NewEvent(out _)), "application/json");
        }

        var response = await client.SendAsync(request);

        Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
        if (keyed)
        {
            Assert.True(response.Headers.CacheControl?.NoStore, $"{path}: Cache-Control {response.Headers.CacheControl}");
        }
    }

    [Fact]
    public async Task TheServerDoesNotNameItself()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        api.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        api.StartServer();
        using var client = api.CreateApiClient();

        var response = await client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Headers.Server);
    }

    [Theory]
    [InlineData("https://api.example", true)]
    [InlineData("http://api.example", false)]
    public async Task OutsideDevelopmentHttpsAnswersCarryHsts(string baseAddress, bool expected)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, environment: "Production");
        using var client = api.CreateApiClient();
        client.BaseAddress = new Uri(baseAddress);

        var response = await client.GetAsync("/alive");

        Assert.Equal(expected, response.Headers.Contains("Strict-Transport-Security"));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.9.9.9", false)]
    public async Task TheSchemeAndAddressForwardedByAKnownProxyAreBelievedAndNoOneElses(string knownProxy, bool believed)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?>
        {
            ["Api:Transport:KnownProxies:0"] = knownProxy,
            ["Api:RateLimit:Unauthenticated:TokenLimit"] = "1",
            ["Api:RateLimit:Unauthenticated:TokensPerPeriod"] = "1",
            ["Api:RateLimit:Unauthenticated:ReplenishmentPeriod"] = "00:01:00",
        }, environment: "Production");
        api.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        api.StartServer();
        using var client = api.CreateApiClient(apiKey: null);

        async Task<HttpResponseMessage> SendAsync(string path, string clientAddress)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "api.example";
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-For", clientAddress);
            return await client.SendAsync(request);
        }

        var alive = await SendAsync("/alive", "203.0.113.1");
        var first = await SendAsync("/api/keys", "203.0.113.1");
        var second = await SendAsync("/api/keys", "203.0.113.2");

        Assert.Equal(believed, alive.Headers.Contains("Strict-Transport-Security"));
        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        // Two clients behind a known proxy have a bucket each; behind an unknown one, they share the proxy's.
        Assert.Equal(believed ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests, second.StatusCode);
    }
}
