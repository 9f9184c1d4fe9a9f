using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.StreamProcessor.Telemetry;

/// <summary>The processor's one ActivitySource and the name of its one Meter (exported by the service defaults' <c>Pipeline.*</c>).</summary>
internal static class StreamProcessorTelemetry
{
    public const string Name = "Pipeline.StreamProcessor";

    public static readonly ActivitySource ActivitySource = new(Name);
}

/// <summary>
/// The processor's instruments. Created from <see cref="IMeterFactory"/> in the service; tests
/// give each processor its own <see cref="Meter"/> so they can read exactly its measurements.
/// </summary>
internal sealed class StreamProcessorMetrics
{
    public StreamProcessorMetrics(IMeterFactory meterFactory)
        : this(meterFactory.Create(StreamProcessorTelemetry.Name))
    {
    }

    public StreamProcessorMetrics(Meter meter)
    {
        Meter = meter;
        RecordsProcessed = meter.CreateCounter<long>(
            "pipeline.stream_processor.records.processed", "{record}", "Records read from the events topic, whatever became of them.");
        LateEvents = meter.CreateCounter<long>(
            "pipeline.stream_processor.events.late", "{event}", "Events not counted in a window (tag window) because it had closed; they still count in all-time totals.");
        DeadLettered = meter.CreateCounter<long>(
            "pipeline.stream_processor.records.dead_lettered", "{record}", "Records sent to the dead-letter topic, by reason.");
        DuplicateEvents = meter.CreateCounter<long>(
            "pipeline.stream_processor.events.duplicate", "{event}", "Events dropped because their key and id were seen within the dedupe window.");
        ReplayedEvents = meter.CreateCounter<long>(
            "pipeline.stream_processor.events.replayed", "{event}", "Events read again after a restart or rebalance and skipped because their effect was already stored.");
        AggregatesEmitted = meter.CreateCounter<long>(
            "pipeline.stream_processor.aggregates.emitted", "{record}", "Aggregate updates sent to the aggregates topic (tag final).");
        ProcessingLag = meter.CreateHistogram<double>(
            "pipeline.stream_processor.processing.lag", "s", "Time from an event's timestamp to its processing.");
        meter.CreateObservableGauge(
            "pipeline.stream_processor.consumer.lag", Lag.Read, "{record}",
            "Records on an assigned partition of the events topic the processor has not read yet: high watermark minus position.");
        meter.CreateObservableGauge(
            "pipeline.stream_processor.poll.silence", () => Activity.LongestSilence().TotalSeconds, "s",
            "The longest any stream thread has gone without polling Kafka; above StreamProcessor:StallLimit it is blocked and processes nothing.");
    }

    /// <summary>The latest lag figures of each stream thread's consumer, read by the consumer lag gauge.</summary>
    public ConsumerLagReadings Lag { get; } = new();

    /// <summary>When each stream thread last polled, read by the stall check and the poll silence gauge.</summary>
    public StreamThreadActivity Activity { get; } = new();

    public Meter Meter { get; }
    public Counter<long> RecordsProcessed { get; }
    public Counter<long> LateEvents { get; }
    public Counter<long> DeadLettered { get; }
    public Counter<long> DuplicateEvents { get; }
    public Counter<long> ReplayedEvents { get; }
    public Counter<long> AggregatesEmitted { get; }
    public Histogram<double> ProcessingLag { get; }
}

/// <summary>
/// Lag per partition, as each consumer last measured it. Every stream thread has its own consumer
/// and assignment; the gauge reports them all.
/// </summary>
internal sealed class ConsumerLagReadings
{
    private readonly ConcurrentDictionary<object, IReadOnlyList<Measurement<long>>> _byConsumer = new();

    public void Publish(object consumer, IReadOnlyList<Measurement<long>> lag) => _byConsumer[consumer] = lag;

    /// <summary>Forgets a closed consumer, whose partitions another consumer now reports.</summary>
    public void Remove(object consumer) => _byConsumer.TryRemove(consumer, out _);

    public IEnumerable<Measurement<long>> Read() => _byConsumer.Values.SelectMany(lag => lag).ToList();
}
