using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Npgsql;
using Pipeline.Contracts;

namespace Pipeline.Sink;

/// <summary>
/// Stores the valid records of one batch in PostgreSQL in one transaction and records what that
/// did (rows changed, stale records, batch size and duration, delay and end-to-end freshness).
/// When PostgreSQL refuses the data itself, the records are written one by one to find the
/// culprits, which the batch then dead-letters.
/// </summary>
internal sealed partial class SinkBatchWriter(IAggregateWriter writer, SinkMetrics metrics, TimeProvider time, ILogger logger)
{
    /// <summary>
    /// Writes the batch's valid records in one transaction. If PostgreSQL refuses the data itself,
    /// the records are written one by one to find the culprit, which is then dead-lettered.
    /// </summary>
    public void Write(BatchProgress progress, CancellationToken stoppingToken)
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

    private void Record(AggregateWriteResult result, int records, IEnumerable<(ConsumeResult<byte[]?, byte[]?> Source, AggregateRecord Record)> stored, TimeSpan duration)
    {
        metrics.RowsUpserted.Add(result.TotalsChanged, new KeyValuePair<string, object?>("db.collection.name", "aggregate_totals"));
        metrics.RowsUpserted.Add(result.WindowsChanged, new KeyValuePair<string, object?>("db.collection.name", "window_aggregates"));
        metrics.StaleRecords.Add(result.Stale);
        if (duration > TimeSpan.Zero)
        {
            metrics.BatchSize.Record(records);
            metrics.BatchDuration.Record(duration.TotalSeconds);
        }

        var now = time.GetUtcNow();
        foreach (var (source, _) in stored)
        {
            if (source.Message.Timestamp.Type != TimestampType.NotAvailable)
            {
                metrics.RecordDelay.Record((now - source.Message.Timestamp.UtcDateTime).TotalSeconds);
            }

            if (EventTime(source.Message.Headers) is { } eventTime)
            {
                metrics.EventFreshness.Record((now - eventTime).TotalSeconds);
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

    /// <summary>
    /// Errors about the values of some record (cardinality 21, data 22, integrity 23, program
    /// limits 54): retrying the same batch would fail the same way. Any other SQL state (the
    /// connection, the server, a missing table) is about the database and is retried.
    /// </summary>
    private static bool IsAboutTheData(PostgresException exception) =>
        exception.SqlState.Length == 5 && exception.SqlState[..2] is "21" or "22" or "23" or "54";

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL refused the data of a batch ({SqlState}); writing its {RecordCount} records one by one to find the culprit.")]
    private static partial void LogIsolating(ILogger logger, string sqlState, int recordCount);
}
