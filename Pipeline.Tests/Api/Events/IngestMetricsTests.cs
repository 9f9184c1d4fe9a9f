using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Pipeline.Tests.Api.Events;

public sealed class IngestMetricsTests(PartitionedEventsTopic topic) : IClassFixture<PartitionedEventsTopic>
{
    [Fact]
    public async Task AcceptedAndRejectedEventsAreCountedByReasonAndProduceLatencyIsRecorded()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        using var metrics = new ApiMetrics(api.Services.GetRequiredService<IMeterFactory>());

        await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _));
        await client.PostAsync(ApiRequests.Batch, "[" + ApiRequests.NewEvent(out _) + "," + ApiRequests.NewEvent(out _) + "]");
        await client.PostAsync(ApiRequests.Batch, """[{"key":"k","value":1},{"key":"k","value":"x"},{"key":"k","value":2}]""");
        await client.PostAsync(ApiRequests.Events, "{oops");
        await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _), "text/plain");

        Assert.Equal(1, metrics.Sum("pipeline.api.events.accepted", "pipeline.ingest.endpoint", "single"));
        Assert.Equal(2, metrics.Sum("pipeline.api.events.accepted", "pipeline.ingest.endpoint", "batch"));
        Assert.Equal(3, metrics.Sum("pipeline.api.events.rejected", "error.type", "validation-failed"));
        Assert.Equal(1, metrics.Sum("pipeline.api.events.rejected", "error.type", "malformed-json"));
        Assert.Equal(1, metrics.Sum("pipeline.api.events.rejected", "error.type", "unsupported-media-type"));
        var latencies = metrics.Measurements("pipeline.api.events.produce.duration");
        Assert.Equal(2, latencies.Count);
        Assert.All(latencies, latency => Assert.InRange(latency.Value, 0, 10));
        Assert.All(latencies, latency => Assert.Equal("acknowledged", latency.Tags["pipeline.ingest.outcome"]));
    }

    [Fact]
    public async Task IngestRequestsRefusedForTheirApiKeyOrTheRateLimitAreCountedAsRejectedByCode()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?>
        {
            ["Api:RateLimit:TokenLimit"] = "2",
            ["Api:RateLimit:TokensPerPeriod"] = "1",
            ["Api:RateLimit:ReplenishmentPeriod"] = "01:00:00",
        });
        using var metrics = new ApiMetrics(api.Services.GetRequiredService<IMeterFactory>());
        using var anonymous = api.CreateApiClient(apiKey: null);
        using var stranger = api.CreateApiClient(apiKey: "not-a-key");
        using var client = api.CreateApiClient();

        await (await anonymous.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-missing");
        await (await stranger.PostAsync(ApiRequests.Batch, "[" + ApiRequests.NewEvent(out _) + "]")).AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-invalid");
        await (await anonymous.GetAsync("/api/aggregates/some-key")).AssertProblemAsync(HttpStatusCode.Unauthorized, "api-key-missing");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).StatusCode);
        await (await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _))).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
        await (await client.GetAsync("/api/aggregates/some-key")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");

        Assert.Equal(1, metrics.Sum("pipeline.api.events.rejected", "error.type", "api-key-missing"));
        Assert.Equal(1, metrics.Sum("pipeline.api.events.rejected", "error.type", "api-key-invalid"));
        Assert.Equal(1, metrics.Sum("pipeline.api.events.rejected", "error.type", "rate-limited"));
        var refused = metrics.Measurements("pipeline.api.events.rejected");
        Assert.Equal(["single", "batch", "single"], refused.Select(m => m.Tags["pipeline.ingest.endpoint"]));
        Assert.Equal(2, metrics.Sum("pipeline.api.events.accepted", "pipeline.ingest.endpoint", "single"));
    }

    /// <summary>Listens to the Pipeline.Api meter of one host only, so tests running beside it do not count.</summary>
    private sealed class ApiMetrics : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();

        public ApiMetrics(IMeterFactory hostMeters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Pipeline.Api" && ReferenceEquals(instrument.Meter.Scope, hostMeters))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.Start();
        }

        public double Sum(string instrument, string tag, string value) =>
            _measurements.Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault(tag), value)).Sum(m => m.Value);

        public IReadOnlyList<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements(string instrument) =>
            _measurements.Where(m => m.Instrument == instrument).ToList();

        public void Dispose() => _listener.Dispose();

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            _measurements.Enqueue((instrument.Name, value, copy));
        }
    }
}
