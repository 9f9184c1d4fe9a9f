using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Status;

/// <summary>GET /api/status: what the live page shows at a glance, from the API's own figures.</summary>
public sealed class StatusApiTests(PartitionedEventsTopic topic) : IClassFixture<PartitionedEventsTopic>
{
    [Fact]
    public async Task StatusCountsAcceptedEventsSaysWhenTheBacklogIsNotMeasuredAndNeedsTheApiKey()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        using var anonymous = api.CreateApiClient(apiKey: null);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/status")).StatusCode);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).StatusCode);
        }

        var status = await GetStatusAsync(client);
        var ingest = status.GetProperty("ingest");
        Assert.Equal(3, ingest.GetProperty("acceptedSinceStart").GetInt64());
        Assert.Equal(0.3, ingest.GetProperty("eventsPerSecond").GetDouble(), 1);
        // This broker has no aggregates topic, so the backlog cannot be measured: null, not zeros.
        // (Measured figures are on the live page through the AppHost, LivePageTests.)
        Assert.Equal(JsonValueKind.Null, status.GetProperty("backlog").ValueKind);
        Assert.Contains(status.GetProperty("changeStream").GetString(), new[] { "listening", "reconnecting" });
    }

    private static async Task<JsonElement> GetStatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
