using System.Diagnostics;
using Confluent.Kafka;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>
/// The sink's reading side of the aggregates topic: batches (wait for a first record, linger a
/// little for more, take what has already arrived), pausing while a batch cannot be stored, and
/// a watch on positions so that records the broker dropped are reported, never skipped silently.
/// </summary>
internal sealed partial class SinkConsumer(IConsumer<byte[]?, byte[]?> consumer, RecordLoss loss, ILogger logger)
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    private const string LostConsequence =
        "those aggregate updates never reach PostgreSQL (a later update of the same key or window repairs its row, a final one may be missing); the sink goes on from the log start";

    private readonly ConsumerPositionGuard _positions = new(loss, logger, LostConsequence);
    private bool _paused;

    /// <summary>Up to <paramref name="batchSize"/> records: waits for a first one, then lingers for more, then takes what has already arrived.</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> CollectBatch(int batchSize, TimeSpan linger, CancellationToken stoppingToken)
    {
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>();
        var lingerUntil = 0L;
        while (batch.Count < batchSize && !stoppingToken.IsCancellationRequested)
        {
            TimeSpan timeout;
            if (batch.Count == 0)
            {
                timeout = IdlePoll;
            }
            else
            {
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), lingerUntil);
                timeout = left > TimeSpan.Zero ? left : TimeSpan.Zero;
            }

            var result = ConsumeOne(timeout);
            if (result is null)
            {
                if (batch.Count == 0 || timeout == TimeSpan.Zero)
                {
                    break;
                }

                continue;
            }

            batch.Add(result);
            if (batch.Count == 1)
            {
                lingerUntil = Stopwatch.GetTimestamp() + (long)(linger.TotalSeconds * Stopwatch.Frequency);
            }
        }

        return batch;
    }

    /// <summary>
    /// Polls for <paramref name="timeout"/> with the assigned partitions paused, so the consumer
    /// stays in its group while a batch waits to be retried.
    /// </summary>
    public void PollPaused(TimeSpan timeout)
    {
        if (!_paused)
        {
            consumer.Pause(consumer.Assignment);
            _paused = true;
        }

        // Partitions assigned during the wait are not paused yet: put back what they deliver.
        var stray = ConsumeOne(timeout);
        if (stray is not null)
        {
            consumer.Seek(stray.TopicPartitionOffset);
            consumer.Pause([stray.TopicPartition]);
        }
    }

    public void ResumeIfPaused()
    {
        if (_paused)
        {
            consumer.Resume(consumer.Assignment);
            _paused = false;
        }
    }

    private ConsumeResult<byte[]?, byte[]?>? ConsumeOne(TimeSpan timeout)
    {
        try
        {
            var result = consumer.Consume(timeout);
            if (result is null || result.IsPartitionEOF)
            {
                return null;
            }

            _positions.Observe(consumer, result);
            return result;
        }
        catch (ConsumeException exception) when (!exception.Error.IsFatal)
        {
            LogConsumeError(logger, exception.Error.Code, exception.Error.Reason);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consume error {KafkaErrorCode}: {KafkaErrorReason}.")]
    private static partial void LogConsumeError(ILogger logger, ErrorCode kafkaErrorCode, string kafkaErrorReason);
}
