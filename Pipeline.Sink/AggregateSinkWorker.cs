using System.Diagnostics;
using System.Net.Sockets;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>
/// Reads the aggregates topic in batches (<see cref="SinkConsumer"/>) and stores each batch in
/// PostgreSQL in one transaction (<see cref="SinkBatchWriter"/>); only then are the batch's
/// offsets committed (<see cref="SinkOffsets"/>). A batch that cannot be written is held and
/// retried with backoff, its partitions paused, until it is written: a crash at any moment
/// replays at most the records whose offsets were not yet committed, and replaying them is
/// harmless because a row only ever takes a higher version.
/// </summary>
internal sealed partial class AggregateSinkWorker(
    IConsumer<byte[]?, byte[]?> consumer,
    IAggregateWriter writer,
    DeadLetterPublisher deadLetters,
    SinkStatus status,
    SinkMetrics metrics,
    RecordLoss loss,
    IOptions<SinkOptions> options,
    ILogger<AggregateSinkWorker> logger,
    TimeProvider? timeProvider = null,
    PipelineRecordFormat? recordFormat = null) : BackgroundService
{
    private static readonly TimeSpan PausedPoll = TimeSpan.FromMilliseconds(200);

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly SinkConsumer _reader = new(consumer, loss, logger);
    private readonly SinkOffsets _offsets = new(consumer, options.Value.ConsumerGroup, status, metrics, logger);
    private readonly SinkBatchWriter _batchWriter = new(writer, metrics, timeProvider ?? TimeProvider.System, logger);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Consume blocks, so the loop gets a thread of its own rather than one of the pool's.
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        consumer.Subscribe(settings.Topic);
        status.Started();
        LogStarted(logger, settings.Topic, settings.ConsumerGroup, settings.BatchSize, settings.Linger);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var batch = _reader.CollectBatch(settings.BatchSize, settings.Linger, stoppingToken);
                if (batch.Count > 0)
                {
                    Store(batch, settings, stoppingToken);
                    _offsets.MarkDurable(batch);
                    _offsets.CommitDurable();
                }

                _offsets.MeasureLagIfDue(settings.LagInterval);
            }

            status.Stopped(null);
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a write cut short rolled back, and its records were not committed.
            status.Stopped(null);
        }
        catch (Exception exception)
        {
            LogWorkerFailed(logger, exception);
            status.Stopped(exception.Message);
            throw;
        }
        finally
        {
            // Only offsets of records already stored are committed; anything in flight is replayed.
            _offsets.CommitDurable();
            consumer.Close();
        }
    }

    /// <summary>Returns once every record of the batch is stored or dead-lettered; retries for as long as that takes.</summary>
    private void Store(List<ConsumeResult<byte[]?, byte[]?>> batch, SinkOptions settings, CancellationToken stoppingToken)
    {
        var spans = StartRecordSpans(batch, settings.ConsumerGroup);
        using var activity = SinkTelemetry.ActivitySource.StartActivity(
            "upsert aggregates", ActivityKind.Internal, parentContext: default,
            tags: [new("db.system.name", "postgresql"), new("messaging.batch.message_count", batch.Count)],
            links: spans.Select(span => new ActivityLink(span.Context)));
        var progress = new BatchProgress(batch, recordFormat ?? PipelineRecordFormat.Json);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    if (!progress.Parsed)
                    {
                        progress.Parse();
                    }

                    if (!progress.Written)
                    {
                        _batchWriter.Write(progress, stoppingToken);
                        progress.Written = true;
                    }

                    if (!progress.DeadLettered)
                    {
                        foreach (var (source, reason, detail) in progress.Rejected)
                        {
                            LogDeadLettered(logger, source.Topic, source.Partition.Value, source.Offset.Value, reason, detail);
                            deadLetters.PublishAsync(source, reason, detail, stoppingToken).GetAwaiter().GetResult();
                        }

                        progress.DeadLettered = true;
                    }

                    break;
                }
                catch (Exception exception) when (IsRetryable(exception) && !stoppingToken.IsCancellationRequested)
                {
                    metrics.WriteFailures.Add(1, new KeyValuePair<string, object?>("error.type", ErrorType(exception)));
                    status.WriteFailed(exception, _time.GetUtcNow());
                    var delay = Backoff(settings, attempt);
                    LogWriteFailed(logger, exception, batch.Count, attempt + 1, delay);
                    activity?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { ["error.type"] = ErrorType(exception) }));
                    WaitPaused(delay, settings, stoppingToken);
                }
            }

            _reader.ResumeIfPaused();
            status.WriteSucceeded();
            foreach (var span in spans)
            {
                span.SetStatus(ActivityStatusCode.Ok);
            }
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            throw;
        }
        finally
        {
            foreach (var span in spans)
            {
                span.Dispose();
            }
        }
    }

    /// <summary>Waits out a backoff with the assigned partitions paused, still polling so the consumer stays in its group.</summary>
    private void WaitPaused(TimeSpan delay, SinkOptions settings, CancellationToken stoppingToken)
    {
        var until = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        while (!stoppingToken.IsCancellationRequested)
        {
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), until);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            _reader.PollPaused(left < PausedPoll ? left : PausedPoll);
            _offsets.MeasureLagIfDue(settings.LagInterval);
        }

        stoppingToken.ThrowIfCancellationRequested();
    }

    private static List<Activity> StartRecordSpans(List<ConsumeResult<byte[]?, byte[]?>> batch, string consumerGroup)
    {
        var spans = new List<Activity>();
        var previous = Activity.Current;
        foreach (var result in batch)
        {
            // Each record's span continues the trace in its own headers, never the previous record's.
            Activity.Current = null;
            if (result.StartProcessActivity(consumerGroup) is { } span)
            {
                spans.Add(span);
            }
        }

        Activity.Current = previous;
        return spans;
    }

    // Worked out here rather than by a Polly retry strategy (the one backoff elsewhere): the wait
    // must keep polling the paused consumer so that it stays in its group, which a Polly delay cannot.
    private static TimeSpan Backoff(SinkOptions settings, int attempt)
    {
        var exponential = settings.RetryInitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        var capped = Math.Min(exponential, settings.RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    /// <summary>
    /// Failures of the database or the broker that waiting can cure. Anything else is a bug, and
    /// the worker stops: the records in flight were not committed and are replayed on restart.
    /// </summary>
    private static bool IsRetryable(Exception exception) =>
        exception is NpgsqlException or KafkaException or TimeoutException or IOException or SocketException or SchemaRegistryUnavailableException;

    private static string ErrorType(Exception exception) =>
        exception is PostgresException postgres ? postgres.SqlState : exception.GetType().Name;

    [LoggerMessage(Level = LogLevel.Information, Message = "Sink consuming {Topic} as group {ConsumerGroup}, batches of up to {BatchSize} records, linger {Linger}.")]
    private static partial void LogStarted(ILogger logger, string topic, string consumerGroup, int batchSize, TimeSpan linger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {RecordCount} records failed (attempt {Attempt}); partitions paused, retrying in {Delay}.")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int recordCount, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering {Topic}[{Partition}]@{Offset}: {Reason} ({Detail}).")]
    private static partial void LogDeadLettered(ILogger logger, string topic, int partition, long offset, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The sink worker stopped on an unexpected error; uncommitted records are replayed on restart.")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception);
}
