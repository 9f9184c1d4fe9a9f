using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.Sink;

/// <summary>The sink's one ActivitySource and Meter, and the instruments it records.</summary>
internal static class SinkTelemetry
{
    public const string Name = "Pipeline.Sink";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> RowsUpserted = Meter.CreateCounter<long>(
        "pipeline.sink.rows.upserted", unit: "{row}", description: "Rows inserted or replaced by a higher version.");

    public static readonly Counter<long> StaleRecords = Meter.CreateCounter<long>(
        "pipeline.sink.records.stale", unit: "{record}",
        description: "Records not applied because their row already held the same or a higher version (replays, duplicates, reordering).");

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>(
        "pipeline.sink.batch.size", unit: "{record}", description: "Records in one batch written to PostgreSQL.");

    public static readonly Histogram<double> BatchDuration = Meter.CreateHistogram<double>(
        "pipeline.sink.batch.duration", unit: "s", description: "Time to write one batch, from the transaction's start to its commit.");

    public static readonly Histogram<double> RecordDelay = Meter.CreateHistogram<double>(
        "pipeline.sink.record.delay", unit: "s",
        description: "Time from a record's Kafka timestamp (when the stream processor produced it) to the commit that stored it.");

    public static readonly Histogram<double> EventFreshness = Meter.CreateHistogram<double>(
        "pipeline.sink.event.freshness", unit: "s",
        description: "End to end: time from the timestamp of the event behind an aggregate update to the commit that stored the update. " +
            "Only updates an event caused are measured (not window closes); a late event counts with its own, older timestamp.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });

    public static readonly Counter<long> WriteFailures = Meter.CreateCounter<long>(
        "pipeline.sink.write.failures", unit: "{attempt}", description: "Failed attempts to write a batch; the batch is retried.");

    public static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>(
        "pipeline.sink.dead_letters", unit: "{record}", description: "Records sent to the dead-letter topic, by reason.");

    public static readonly Counter<long> RowsPruned = Meter.CreateCounter<long>(
        "pipeline.sink.retention.rows_deleted", unit: "{row}", description: "Expired window rows deleted by the retention job.");

    // The worker publishes its latest lag figures here; the gauge reads them when metrics are collected.
    private static volatile IReadOnlyList<Measurement<long>> _lag = [];

    static SinkTelemetry()
    {
        Meter.CreateObservableGauge(
            "pipeline.sink.consumer.lag", () => _lag, unit: "{record}",
            description: "Records on a partition of the aggregates topic not yet durably stored: high watermark minus the next offset to store.");
    }

    public static void PublishLag(IReadOnlyList<Measurement<long>> lag) => _lag = lag;
}
