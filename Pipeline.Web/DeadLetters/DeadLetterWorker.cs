using System.Text;
using Confluent.Kafka;
using Pipeline.Contracts;

namespace Pipeline.Web.DeadLetters;

/// <summary>
/// Reads the <see cref="Topics.DeadLetter"/> topic from the last <see cref="RecentDeadLetters.Capacity"/>
/// records of each partition onwards, and keeps following it. Partitions are assigned, not
/// subscribed, and nothing is committed: every web instance shows the same latest dead letters.
/// </summary>
internal sealed partial class DeadLetterWorker(IConsumer<byte[]?, byte[]?> consumer, RecentDeadLetters deadLetters, ILogger<DeadLetterWorker> logger)
    : BackgroundService
{
    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(5);

    // The blocking Consume loop runs on a long-running task of its own, not on a thread-pool thread.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && !TryAssign())
        {
            stoppingToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(5));
        }

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (consumer.Consume(stoppingToken) is { Message: { } message } result)
                    {
                        deadLetters.Add(Read(message, result.Partition.Value, result.Offset.Value));
                    }
                }
                catch (ConsumeException exception)
                {
                    LogConsumeFailed(logger, exception.Error.Code, exception.Error.Reason);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            consumer.Close();
        }
    }

    private bool TryAssign()
    {
        try
        {
            using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
            var topic = admin.GetMetadata(Topics.DeadLetter, BrokerTimeout).Topics.Single();
            if (topic.Error.IsError)
            {
                throw new KafkaException(topic.Error);
            }

            var start = topic.Partitions
                .Select(p => new TopicPartition(Topics.DeadLetter, p.PartitionId))
                .Select(partition =>
                {
                    var watermarks = consumer.QueryWatermarkOffsets(partition, BrokerTimeout);
                    return new TopicPartitionOffset(partition, Math.Max(watermarks.Low.Value, watermarks.High.Value - RecentDeadLetters.Capacity));
                })
                .ToList();
            consumer.Assign(start);
            LogAssigned(logger, start.Count);
            return true;
        }
        catch (KafkaException exception)
        {
            LogAssignFailed(logger, exception.Error.Code, exception.Error.Reason);
            return false;
        }
    }

    private static DeadLetter Read(Message<byte[]?, byte[]?> message, int partition, long offset) => new(
        message.Timestamp.UtcDateTime,
        Header(message, DeadLetterHeaders.Reason) ?? "unknown",
        Header(message, DeadLetterHeaders.Detail),
        Header(message, DeadLetterHeaders.Service),
        Header(message, DeadLetterHeaders.SourceTopic),
        Header(message, DeadLetterHeaders.SourcePartition),
        Header(message, DeadLetterHeaders.SourceOffset),
        partition,
        offset);

    private static string? Header(Message<byte[]?, byte[]?> message, string name) =>
        message.Headers?.TryGetLastBytes(name, out var bytes) == true ? Encoding.UTF8.GetString(bytes) : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Following the dead-letter topic on {Partitions} partitions.")]
    private static partial void LogAssigned(ILogger logger, int partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dead-letter topic cannot be read yet ({Code}: {Reason}); trying again.")]
    private static partial void LogAssignFailed(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading a dead letter failed ({Code}: {Reason}).")]
    private static partial void LogConsumeFailed(ILogger logger, ErrorCode code, string reason);
}
