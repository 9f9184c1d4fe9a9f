using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.Sink;

/// <summary>The sink's one ActivitySource and the name of its one Meter (exported by the service defaults' <c>Pipeline.*</c>).</summary>
internal static class SinkTelemetry
{
    public const string Name = "Pipeline.Sink";

    public static readonly ActivitySource ActivitySource = new(Name);
}

/// <summary>
/// The sink's instruments. Created from <see cref="IMeterFactory"/> in the service; tests give
/// each sink its own <see cref="Meter"/> so they read exactly its measurements, and two sinks in
/// one process never mix their lag figures.
/// </summary>
internal sealed class SinkMetrics
{
    // The worker publishes its latest lag figures here; the gauge reads them when metrics are collected.
    private volatile IReadOnlyList<Measurement<long>> _lag = [];

    public SinkMetrics(IMeterFactory meterFactory)
        : this(meterFactory.Create(SinkTelemetry.Name))
    {
    }

    public SinkMetrics(Meter meter)
    {
        Meter = meter;
        RowsUpserted = meter.CreateCounter<long>(
            "pipeline.sink.rows.upserted", unit: "{row}", description: "Rows inserted or replaced by a higher version.");
        StaleRecords = meter.CreateCounter<long>(
            "pipeline.sink.records.stale", unit: "{record}",
            description: "Records not applied because their row already held the same or a higher version (replays, duplicates, reordering).");
        BatchSize = meter.CreateHistogram<int>(
            "pipeline.sink.batch.size", unit: "{record}", description: "Records in one batch written to PostgreSQL.");
        BatchDuration = meter.CreateHistogram<double>(
            "pipeline.sink.batch.duration", unit: "s", description: "Time to write one batch, from the transaction's start to its commit.");
        RecordDelay = meter.CreateHistogram<double>(
            "pipeline.sink.record.delay", unit: "s",
            description: "Time from a record's Kafka timestamp (when the stream processor produced it) to the commit that stored it.");
        EventFreshness = meter.CreateHistogram<double>(
            "pipeline.sink.event.freshness", unit: "s",
            description: "End to end: time from the timestamp of the event behind an aggregate update to the commit that stored the update. " +
                "Only updates an event caused are measured (not window closes); a late event counts with its own, older timestamp.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });
        WriteFailures = meter.CreateCounter<long>(
            "pipeline.sink.write.failures", unit: "{attempt}", description: "Failed attempts to write a batch; the batch is retried.");
        DeadLetters = meter.CreateCounter<long>(
            "pipeline.sink.dead_letters", unit: "{record}", description: "Records sent to the dead-letter topic, by reason.");
        RowsPruned = meter.CreateCounter<long>(
            "pipeline.sink.retention.rows_deleted", unit: "{row}", description: "Expired window rows deleted by the retention job.");
        meter.CreateObservableGauge(
            "pipeline.sink.consumer.lag", () => _lag, unit: "{record}",
            description: "Records on a partition of the aggregates topic not yet durably stored: high watermark minus the next offset to store.");
    }

    public Meter Meter { get; }
    public Counter<long> RowsUpserted { get; }
    public Counter<long> StaleRecords { get; }
    public Histogram<int> BatchSize { get; }
    public Histogram<double> BatchDuration { get; }
    public Histogram<double> RecordDelay { get; }
    public Histogram<double> EventFreshness { get; }
    public Counter<long> WriteFailures { get; }
    public Counter<long> DeadLetters { get; }
    public Counter<long> RowsPruned { get; }

    public void PublishLag(IReadOnlyList<Measurement<long>> lag) => _lag = lag;
}
