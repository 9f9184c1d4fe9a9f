using System.Diagnostics;
using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>
/// The sink's positions: per partition, the next offset whose records are all durably handled
/// (what lag is measured from), and the durably handled offsets not yet committed to the group (a
/// commit can fail while the broker is away; they go with the next one). Only offsets of records
/// already stored are ever committed, so a crash replays, and never skips.
/// </summary>
internal sealed partial class SinkOffsets(IConsumer<byte[]?, byte[]?> consumer, string group, SinkStatus status, SinkMetrics metrics, ILogger logger)
{
    private static readonly TimeSpan BrokerQueryTimeout = TimeSpan.FromSeconds(1);

    private readonly Dictionary<TopicPartition, long> _durable = [];
    private readonly Dictionary<TopicPartition, long> _uncommitted = [];
    private long _nextLagMeasurement;

    public void MarkDurable(List<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        foreach (var result in batch)
        {
            var next = result.Offset.Value + 1;
            if (!_durable.TryGetValue(result.TopicPartition, out var held) || held < next)
            {
                _durable[result.TopicPartition] = next;
            }

            if (!_uncommitted.TryGetValue(result.TopicPartition, out var pending) || pending < next)
            {
                _uncommitted[result.TopicPartition] = next;
            }
        }
    }

    public void CommitDurable()
    {
        if (_uncommitted.Count == 0)
        {
            return;
        }

        try
        {
            // A partition taken away by a rebalance is its new owner's to commit; it replays from its last commit.
            var assigned = consumer.Assignment.ToHashSet();
            var offsets = _uncommitted
                .Where(entry => assigned.Contains(entry.Key))
                .Select(entry => new TopicPartitionOffset(entry.Key, new Offset(entry.Value)))
                .ToList();
            if (offsets.Count > 0)
            {
                consumer.Commit(offsets);
            }

            _uncommitted.Clear();
        }
        catch (KafkaException exception)
        {
            // Kept for the next commit; if the process dies first, the records are replayed, which is harmless.
            LogCommitFailed(logger, exception.Error.Code, exception.Error.Reason);
        }
    }

    /// <summary>Measures the lag of each assigned partition (high watermark minus the next offset to store), at most once per <paramref name="interval"/>.</summary>
    public void MeasureLagIfDue(TimeSpan interval)
    {
        var now = Stopwatch.GetTimestamp();
        if (now < _nextLagMeasurement)
        {
            return;
        }

        _nextLagMeasurement = now + (long)(interval.TotalSeconds * Stopwatch.Frequency);
        var assignment = consumer.Assignment;
        foreach (var stale in _durable.Keys.Except(assignment).ToList())
        {
            _durable.Remove(stale);
        }

        var measurements = new List<Measurement<long>>(assignment.Count);
        var total = 0L;
        foreach (var partition in assignment)
        {
            try
            {
                var watermarks = consumer.QueryWatermarkOffsets(partition, BrokerQueryTimeout);
                if (!_durable.TryGetValue(partition, out var next))
                {
                    var committed = consumer.Committed([partition], BrokerQueryTimeout).Single().Offset;
                    next = committed.IsSpecial ? watermarks.Low.Value : committed.Value;
                    _durable[partition] = next;
                }

                var lag = ConsumerLag.Of(watermarks, new Offset(next));
                total += lag;
                measurements.Add(ConsumerLag.Measurement(partition, group, lag));
            }
            catch (KafkaException exception)
            {
                LogLagUnknown(logger, partition.Partition.Value, exception.Error.Reason);
            }
        }

        status.LagMeasured(total);
        metrics.PublishLag(measurements);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing offsets failed ({KafkaErrorCode}: {KafkaErrorReason}); they are committed with the next batch.")]
    private static partial void LogCommitFailed(ILogger logger, ErrorCode kafkaErrorCode, string kafkaErrorReason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Lag of partition {Partition} unknown: {Reason}.")]
    private static partial void LogLagUnknown(ILogger logger, int partition, string reason);
}
