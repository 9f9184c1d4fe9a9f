using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;
using Pipeline.ServiceDefaults.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>
/// Reads the aggregates topic in batches and stores each batch in PostgreSQL in one
/// transaction; only then are the batch's offsets committed. A batch that cannot be written is
/// held and retried with backoff, its partitions paused, until it is written: a crash at any
/// moment replays at most the records whose offsets were not yet committed, and replaying them
/// is harmless because a row only ever takes a higher version.
/// </summary>
internal sealed partial class AggregateSinkWorker(
    IConsumer<byte[]?, byte[]?> consumer,
    IAggregateWriter writer,
    DeadLetterPublisher deadLetters,
    SinkStatus status,
    RecordLoss loss,
    IOptions<SinkOptions> options,
    ILogger<AggregateSinkWorker> logger) : BackgroundService
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PausedPoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan BrokerQueryTimeout = TimeSpan.FromSeconds(1);

    private const string LostConsequence =
        "those aggregate updates never reach PostgreSQL (a later update of the same key or window repairs its row, a final one may be missing); the sink goes on from the log start";

    // Next offset per partition whose records are all durably handled; what lag is measured from.
    private readonly Dictionary<TopicPartition, long> _durable = [];

    // Durably handled offsets not yet committed to the group (a commit can fail while the broker is away).
    private readonly Dictionary<TopicPartition, long> _uncommitted = [];
    private readonly ConsumerPositionGuard _positions = new(loss, logger, LostConsequence);
    private bool _paused;
    private long _nextLagMeasurement;

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
                var batch = CollectBatch(settings, stoppingToken);
                if (batch.Count > 0)
                {
                    Store(batch, settings, stoppingToken);
                    MarkDurable(batch);
                    CommitDurableOffsets();
                }

                MeasureLagIfDue(settings);
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
            CommitDurableOffsets();
            consumer.Close();
        }
    }

    /// <summary>Up to BatchSize records: waits for a first one, then lingers a little for more, then takes what has already arrived.</summary>
    private List<ConsumeResult<byte[]?, byte[]?>> CollectBatch(SinkOptions settings, CancellationToken stoppingToken)
    {
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>();
        var lingerUntil = 0L;
        while (batch.Count < settings.BatchSize && !stoppingToken.IsCancellationRequested)
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
                lingerUntil = Stopwatch.GetTimestamp() + (long)(settings.Linger.TotalSeconds * Stopwatch.Frequency);
            }
        }

        return batch;
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

    /// <summary>Returns once every record of the batch is stored or dead-lettered; retries for as long as that takes.</summary>
    private void Store(List<ConsumeResult<byte[]?, byte[]?>> batch, SinkOptions settings, CancellationToken stoppingToken)
    {
        var spans = StartRecordSpans(batch, settings.ConsumerGroup);
        using var activity = SinkTelemetry.ActivitySource.StartActivity(
            "upsert aggregates", ActivityKind.Internal, parentContext: default,
            tags: [new("db.system.name", "postgresql"), new("messaging.batch.message_count", batch.Count)],
            links: spans.Select(span => new ActivityLink(span.Context)));
        var progress = new BatchProgress(batch);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    if (!progress.Written)
                    {
                        Write(progress, stoppingToken);
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
                    SinkTelemetry.WriteFailures.Add(1, new KeyValuePair<string, object?>("error.type", ErrorType(exception)));
                    status.WriteFailed(exception, DateTimeOffset.UtcNow);
                    var delay = Backoff(settings, attempt);
                    LogWriteFailed(logger, exception, batch.Count, attempt + 1, delay);
                    activity?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { ["error.type"] = ErrorType(exception) }));
                    WaitPaused(delay, settings, stoppingToken);
                }
            }

            ResumeIfPaused();
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

    /// <summary>
    /// Writes the batch's valid records in one transaction. If PostgreSQL refuses the data itself,
    /// the records are written one by one to find the culprit, which is then dead-lettered.
    /// </summary>
    private void Write(BatchProgress progress, CancellationToken stoppingToken)
    {
        var records = progress.Valid.Select(item => item.Record).ToList();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = writer.WriteAsync(records, stoppingToken).GetAwaiter().GetResult();
            Record(result, records.Count, progress.Valid, Stopwatch.GetElapsedTime(started));
        }
        catch (PostgresException exception) when (IsAboutTheData(exception))
        {
            LogIsolating(logger, exception.SqlState, records.Count);
            var refused = new List<(ConsumeResult<byte[]?, byte[]?>, string, string)>();
            foreach (var item in progress.Valid)
            {
                try
                {
                    var result = writer.WriteAsync([item.Record], stoppingToken).GetAwaiter().GetResult();
                    Record(result, 1, [item], TimeSpan.Zero);
                }
                catch (PostgresException single) when (IsAboutTheData(single))
                {
                    refused.Add((item.Source, DeadLetterReasons.RejectedByDatabase, $"{single.SqlState}: {single.MessageText}"));
                }
            }

            progress.Rejected.AddRange(refused);
        }
    }

    private static void Record(AggregateWriteResult result, int records, IEnumerable<(ConsumeResult<byte[]?, byte[]?> Source, AggregateRecord Record)> stored, TimeSpan duration)
    {
        SinkTelemetry.RowsUpserted.Add(result.TotalsChanged, new KeyValuePair<string, object?>("db.collection.name", "aggregate_totals"));
        SinkTelemetry.RowsUpserted.Add(result.WindowsChanged, new KeyValuePair<string, object?>("db.collection.name", "window_aggregates"));
        SinkTelemetry.StaleRecords.Add(result.Stale);
        if (duration > TimeSpan.Zero)
        {
            SinkTelemetry.BatchSize.Record(records);
            SinkTelemetry.BatchDuration.Record(duration.TotalSeconds);
        }

        var now = DateTimeOffset.UtcNow;
        foreach (var (source, _) in stored)
        {
            if (source.Message.Timestamp.Type != TimestampType.NotAvailable)
            {
                SinkTelemetry.RecordDelay.Record((now - source.Message.Timestamp.UtcDateTime).TotalSeconds);
            }

            if (EventTime(source.Message.Headers) is { } eventTime)
            {
                SinkTelemetry.EventFreshness.Record((now - eventTime).TotalSeconds);
            }
        }
    }

    /// <summary>The timestamp of the event behind an aggregate update, when the processor sent one.</summary>
    private static DateTimeOffset? EventTime(Headers? headers) =>
        headers is not null
        && headers.TryGetLastBytes(AggregateHeaders.EventTime, out var bytes)
        && long.TryParse(Encoding.UTF8.GetString(bytes), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
        && milliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds)
            : null;

    /// <summary>Waits out a backoff with the assigned partitions paused, still polling so the consumer stays in its group.</summary>
    private void WaitPaused(TimeSpan delay, SinkOptions settings, CancellationToken stoppingToken)
    {
        if (!_paused)
        {
            consumer.Pause(consumer.Assignment);
            _paused = true;
        }

        var until = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        while (!stoppingToken.IsCancellationRequested)
        {
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), until);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            // Partitions assigned during the wait are not paused yet: put back what they deliver.
            var stray = ConsumeOne(left < PausedPoll ? left : PausedPoll);
            if (stray is not null)
            {
                consumer.Seek(stray.TopicPartitionOffset);
                consumer.Pause([stray.TopicPartition]);
            }

            MeasureLagIfDue(settings);
        }

        stoppingToken.ThrowIfCancellationRequested();
    }

    private void ResumeIfPaused()
    {
        if (_paused)
        {
            consumer.Resume(consumer.Assignment);
            _paused = false;
        }
    }

    private void MarkDurable(List<ConsumeResult<byte[]?, byte[]?>> batch)
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

    private void CommitDurableOffsets()
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

    private void MeasureLagIfDue(SinkOptions settings)
    {
        var now = Stopwatch.GetTimestamp();
        if (now < _nextLagMeasurement)
        {
            return;
        }

        _nextLagMeasurement = now + (long)(settings.LagInterval.TotalSeconds * Stopwatch.Frequency);
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
                    next = committed.Value >= 0 ? committed.Value : watermarks.Low.Value;
                    _durable[partition] = next;
                }

                var lag = Math.Max(0, watermarks.High.Value - next);
                total += lag;
                measurements.Add(new Measurement<long>(lag,
                    new KeyValuePair<string, object?>("messaging.destination.name", partition.Topic),
                    new KeyValuePair<string, object?>("messaging.destination.partition.id", partition.Partition.Value.ToString(CultureInfo.InvariantCulture))));
            }
            catch (KafkaException exception)
            {
                LogLagUnknown(logger, partition.Partition.Value, exception.Error.Reason);
            }
        }

        status.LagMeasured(total);
        SinkTelemetry.PublishLag(measurements);
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
        exception is NpgsqlException or KafkaException or TimeoutException or IOException or SocketException;

    /// <summary>
    /// Errors about the values of some record (cardinality 21, data 22, integrity 23, program
    /// limits 54): retrying the same batch would fail the same way. Any other SQL state (the
    /// connection, the server, a missing table) is about the database and is retried.
    /// </summary>
    private static bool IsAboutTheData(PostgresException exception) =>
        exception.SqlState.Length == 5 && exception.SqlState[..2] is "21" or "22" or "23" or "54";

    private static string ErrorType(Exception exception) =>
        exception is PostgresException postgres ? postgres.SqlState : exception.GetType().Name;

    /// <summary>One batch and how far it got; a retry skips the stages already done.</summary>
    private sealed class BatchProgress
    {
        public BatchProgress(List<ConsumeResult<byte[]?, byte[]?>> batch)
        {
            foreach (var result in batch)
            {
                var parsed = AggregateRecordParser.Parse(result.Message.Value);
                if (parsed.Record is { } record)
                {
                    Valid.Add((result, record));
                }
                else
                {
                    Rejected.Add((result, parsed.Reason!, parsed.Detail!));
                }
            }
        }

        public List<(ConsumeResult<byte[]?, byte[]?> Source, AggregateRecord Record)> Valid { get; } = [];

        public List<(ConsumeResult<byte[]?, byte[]?> Source, string Reason, string Detail)> Rejected { get; } = [];

        public bool Written { get; set; }

        public bool DeadLettered { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sink consuming {Topic} as group {ConsumerGroup}, batches of up to {BatchSize} records, linger {Linger}.")]
    private static partial void LogStarted(ILogger logger, string topic, string consumerGroup, int batchSize, TimeSpan linger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a batch of {RecordCount} records failed (attempt {Attempt}); partitions paused, retrying in {Delay}.")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int recordCount, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL refused the data of a batch ({SqlState}); writing its {RecordCount} records one by one to find the culprit.")]
    private static partial void LogIsolating(ILogger logger, string sqlState, int recordCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering {Topic}[{Partition}]@{Offset}: {Reason} ({Detail}).")]
    private static partial void LogDeadLettered(ILogger logger, string topic, int partition, long offset, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consume error {KafkaErrorCode}: {KafkaErrorReason}.")]
    private static partial void LogConsumeError(ILogger logger, ErrorCode kafkaErrorCode, string kafkaErrorReason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing offsets failed ({KafkaErrorCode}: {KafkaErrorReason}); they are committed with the next batch.")]
    private static partial void LogCommitFailed(ILogger logger, ErrorCode kafkaErrorCode, string kafkaErrorReason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Lag of partition {Partition} unknown: {Reason}.")]
    private static partial void LogLagUnknown(ILogger logger, int partition, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The sink worker stopped on an unexpected error; uncommitted records are replayed on restart.")]
    private static partial void LogWorkerFailed(ILogger logger, Exception exception);
}
