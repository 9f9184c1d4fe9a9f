using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Watches what one consumer receives so that records the broker dropped before they were read
/// never go unnoticed. librdkafka, asked for an offset below the log start, resets to the earliest
/// record it still has (<c>auto.offset.reset=earliest</c>) and says nothing. (Its <c>error</c>
/// policy would say it, but leaves the partition unfetchable until re-assigned, which a group
/// member cannot do on its own.) So each partition's next expected offset is kept, and where a
/// record arrives past it (or is the first since start), the group's committed offset and the log
/// start are asked for: records between where this consumer was (or its group had committed) and
/// the log start are gone. That loss is reported through <see cref="RecordLoss"/> (Critical log
/// with the range, metric, Unhealthy) and the consumer goes on from the log start, because
/// stopping would add a stall to a loss without bringing anything back. A gap that the log start
/// does not explain (a transaction marker, a compacted topic) is no loss.
/// </summary>
public sealed partial class ConsumerPositionGuard(RecordLoss loss, ILogger logger, string consequence)
{
    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<TopicPartition, long> _next = [];

    /// <summary>Called with every record the consumer returns, on the consumer's thread.</summary>
    public void Observe<TKey, TValue>(IConsumer<TKey, TValue> consumer, ConsumeResult<TKey, TValue> result)
    {
        if (result.IsPartitionEOF)
        {
            return;
        }

        var partition = result.TopicPartition;
        var offset = result.Offset.Value;
        var known = _next.TryGetValue(partition, out var expected);
        if (!known || offset > expected)
        {
            Check(consumer, partition, offset, known ? expected : null);
        }

        // Also after a rewind (a re-assignment, a replay): the next record is expected after this one.
        _next[partition] = offset + 1;
    }

    private void Check<TKey, TValue>(IConsumer<TKey, TValue> consumer, TopicPartition partition, long offset, long? expected)
    {
        var committed = consumer.Committed([partition], BrokerTimeout).Single().Offset;
        var logStart = Math.Max(0, consumer.QueryWatermarkOffsets(partition, BrokerTimeout).Low.Value);

        // Where reading should have gone on from: this consumer's own position, or its group's
        // committed offset if that is further (another member read on while this one did not).
        long? from = committed.IsSpecial ? expected : Math.Max(committed.Value, expected ?? long.MinValue);
        if (from is null)
        {
            if (logStart > 0)
            {
                LogNeverRead(logger, partition.Topic, partition.Partition.Value, logStart);
            }

            return;
        }

        var lostUntil = Math.Min(logStart, offset);
        if (lostUntil > from)
        {
            loss.Report(partition.Topic, partition.Partition.Value, from.Value, lostUntil,
                "the broker dropped them before they were read (its retention ran out)", consequence);
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "{Topic}[{Partition}] has no committed offset for this group and starts at offset {LogStart}: the records before it were never read by this group")]
    private static partial void LogNeverRead(ILogger logger, string topic, int partition, long logStart);
}
