using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;
using Streamiz.Kafka.Net.Processors.Public;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// Durable before visible: an aggregate is captured when a flush writes it (so it is durable once
/// the commit that follows succeeds) and sent to the aggregates topic only on the next
/// punctuation. Whatever the topic shows is therefore at or behind what a restarted task
/// restores: versions never go back, a version always means the same numbers, and a final record
/// is never followed by a different one. Each update is sent in a <c>send aggregates</c> span
/// that continues the trace of the last event behind it.
/// </summary>
internal sealed class UpdateEmitter(ProcessorContext<byte[], ProcessorOutput> context, StreamProcessorMetrics metrics, PipelineRecordFormat format)
{
    private readonly Dictionary<(string Key, long SizeMs, long StartMs), DurableUpdate> _durable = [];

    /// <summary>How many captured updates wait to be sent.</summary>
    public int Pending => _durable.Count;

    /// <summary>The aggregate as a flush wrote it (or as the store restored it, never sent).</summary>
    public void Capture(string key, AggregateState aggregate) =>
        _durable[(key, aggregate.SizeMs, aggregate.StartMs)] = DurableUpdate.Of(key, aggregate);

    /// <summary>Sends every captured update and notes in each key that it was sent; a sent final window leaves the key's state.</summary>
    public void SendCaptured(KeyStates keys)
    {
        foreach (var ((key, sizeMs, startMs), update) in _durable)
        {
            Send(update);
            var state = keys.Load(key);
            var aggregate = state.Aggregates.Find(a => a.SizeMs == sizeMs && a.StartMs == startMs);
            if (aggregate is null)
            {
                continue;
            }

            aggregate.EmittedVersion = Math.Max(aggregate.EmittedVersion, update.Record.Version);
            if (aggregate.Final && aggregate.EmittedVersion >= aggregate.Version)
            {
                // Its final record is out; the key's closed-through mark keeps the window shut.
                state.Aggregates.Remove(aggregate);
            }

            // Written with the key's next change or the next commit; if lost, the update is sent again.
            keys.Changed(key);
        }

        _durable.Clear();
    }

    private void Send(DurableUpdate update)
    {
        var record = update.Record;
        using var activity = StreamProcessorTelemetry.ActivitySource.StartSendActivity(Topics.Aggregates, update.LastEvent);
        activity?.SetTag("pipeline.aggregate.version", record.Version);

        var headers = new Headers();
        KafkaTelemetry.InjectTraceContext(activity?.Context ?? update.LastEvent, headers);
        if (!record.Final && update.EventTimestampMs is { } eventTime)
        {
            // A final record is caused by its window closing, not by an event: no freshness to measure.
            headers.Add(AggregateHeaders.EventTime, Encoding.UTF8.GetBytes(eventTime.ToString(CultureInfo.InvariantCulture)));
        }

        context.SetHeaders(headers);
        context.ChangeTimestamp(record.UpdatedAt.ToUnixTimeMilliseconds());
        context.Forward(format.WriteAggregateKey(record.Id), new ProcessorOutput(Topics.Aggregates, format.WriteAggregate(record)));
        metrics.AggregatesEmitted.Add(1, new KeyValuePair<string, object?>("final", record.Final));
    }

    /// <summary>An aggregate as it was when a flush wrote it, waiting for the next punctuation to be sent.</summary>
    private sealed record DurableUpdate(AggregateRecord Record, ActivityContext LastEvent, long? EventTimestampMs)
    {
        public static DurableUpdate Of(string key, AggregateState aggregate)
        {
            var windowStart = aggregate.IsAllTime ? WindowNames.AllTimeStart : DateTimeOffset.FromUnixTimeMilliseconds(aggregate.StartMs);
            DateTimeOffset? windowEnd = aggregate.IsAllTime ? null : DateTimeOffset.FromUnixTimeMilliseconds(aggregate.EndMs);
            var window = aggregate.IsAllTime ? WindowNames.AllTime : Durations.Format(TimeSpan.FromMilliseconds(aggregate.SizeMs));
            var total = aggregate.Total;
            return new DurableUpdate(
                new AggregateRecord(
                    key,
                    window,
                    windowStart,
                    windowEnd,
                    aggregate.Count,
                    total,
                    aggregate.Min,
                    aggregate.Max,
                    total / aggregate.Count,
                    aggregate.Final,
                    aggregate.Version,
                    DateTimeOffset.FromUnixTimeMilliseconds(aggregate.UpdatedAtMs)),
                aggregate.LastEvent,
                aggregate.LastEventTimestampMs);
        }
    }
}
