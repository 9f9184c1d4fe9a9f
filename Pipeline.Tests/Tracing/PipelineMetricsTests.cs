using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pipeline.Sink;
using Pipeline.StreamProcessor.Telemetry;
using Pipeline.Tests.Sink;

namespace Pipeline.Tests.Tracing;

/// <summary>The operators' figures that need the whole pipeline: end-to-end freshness, and the processor's lag.</summary>
[Collection(InProcessPipeline.Collection)]
public sealed class PipelineMetricsTests(InProcessPipeline pipeline)
{
    [Fact]
    public async Task AnEventsFreshnessIsMeasuredWhenItsAggregatesAreStoredAndTheProcessorReportsItsLag()
    {
        using var freshness = new MetricCollector<double>(pipeline.Sink.Services.GetRequiredService<SinkMetrics>().Meter, "pipeline.sink.event.freshness");
        using var client = pipeline.Api.CreateApiClient();
        var key = "fresh-" + Guid.NewGuid().ToString("N")[..12];
        var eventTime = DateTimeOffset.UtcNow.AddSeconds(-5);

        var response = await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _, key, timestamp: eventTime));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var partition = (await response.ReadJsonAsync()).GetProperty("partition").GetInt32();
        var stored = await Eventually.HoldsAsync(() => SinkDatabase.ReadAllAsync(pipeline.Database, key), rows => rows.Count == 3, TimeSpan.FromSeconds(60));
        var sinceEvent = (DateTimeOffset.UtcNow - eventTime).TotalSeconds;

        // All-time, 1m and 1h: each row's update names the event behind it.
        Assert.True(stored.Count == 3, $"{stored.Count} of 3 rows stored. Logged:\n{pipeline.Problems()}");
        // The sink records the figure just after its commit: the rows can be read a moment before.
        var measured = await Eventually.HoldsAsync(
            () => Task.FromResult(freshness.GetMeasurementSnapshot().Select(measurement => measurement.Value).ToList()),
            values => values.Count(value => value >= 5) == 3, TimeSpan.FromSeconds(10));
        sinceEvent = (DateTimeOffset.UtcNow - eventTime).TotalSeconds;
        Assert.True(measured.Count(value => value >= 5 && value <= sinceEvent) == 3,
            $"Freshness measured: {string.Join(", ", measured)}; {sinceEvent:0.###} s since the event. Logged:\n{pipeline.Problems()}");

        var lag = await Eventually.HoldsAsync(
            () => Task.FromResult(ReadProcessorLag(pipeline.Processor.Services.GetRequiredService<IMeterFactory>())),
            measurements => measurements.Any(m => m.Partition == partition.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var read = Assert.Single(lag, m => m.Partition == partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, read.Value);
        Assert.All(lag, m => Assert.Equal((Topics.Events, pipeline.ApplicationId), (m.Topic, m.Group)));
    }

    private static List<(long Value, string? Topic, string? Partition, string? Group)> ReadProcessorLag(IMeterFactory processorMeters)
    {
        using var gauge = new MetricCollector<long>(processorMeters, StreamProcessorTelemetry.Name, "pipeline.stream_processor.consumer.lag");
        gauge.RecordObservableInstruments();
        return [.. gauge.GetMeasurementSnapshot().Select(m => (m.Value, Tag(m, "messaging.destination.name"), Tag(m, "messaging.destination.partition.id"), Tag(m, "messaging.consumer.group.name")))];
    }

    private static string? Tag(CollectedMeasurement<long> measurement, string name) => measurement.Tags.GetValueOrDefault(name) as string;
}
