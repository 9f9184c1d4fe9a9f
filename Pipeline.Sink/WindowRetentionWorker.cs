using Microsoft.Extensions.Options;
using Npgsql;

namespace Pipeline.Sink;

/// <summary>
/// Deletes windows that ended longer ago than their size's configured age, a small batch per
/// statement so no DELETE holds locks or produces WAL for long. All-time totals live in another
/// table and are never touched. A failed run is logged and tried again at the next interval.
/// </summary>
internal sealed partial class WindowRetentionWorker(
    WindowRetention retention,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<WindowRetentionWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.Interval, time);
        do
        {
            try
            {
                foreach (var (size, maxAge) in settings.MaxAge)
                {
                    var cutoff = time.GetUtcNow() - maxAge;
                    var deleted = await retention.PruneAsync(size, cutoff, settings.BatchSize, settings.BatchPause, stoppingToken);
                    if (deleted > 0)
                    {
                        LogPruned(logger, deleted, size, cutoff);
                    }
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                LogPruneFailed(logger, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pruned {RowCount} windows of size {WindowSize} that ended before {Cutoff:O}.")]
    private static partial void LogPruned(ILogger logger, long rowCount, string windowSize, DateTimeOffset cutoff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning old windows failed; trying again at the next interval.")]
    private static partial void LogPruneFailed(ILogger logger, Exception exception);
}

/// <summary>The retention job's SQL.</summary>
internal sealed class WindowRetention(NpgsqlDataSource dataSource, SinkMetrics metrics)
{
    // ctid picks the exact row versions the index scan found; LIMIT bounds each statement. The
    // ORDER BY (oldest first) keeps the planner on window_aggregates_by_size_and_end even when
    // much of the table has expired, where it would otherwise choose a sequential scan.
    private const string DeleteExpired = """
        DELETE FROM window_aggregates
        WHERE ctid IN (
            SELECT ctid FROM window_aggregates
            WHERE window_size = @window_size AND window_end < @cutoff
            ORDER BY window_end
            LIMIT @batch_size)
        """;

    /// <summary>Deletes windows of one size that ended before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<long> PruneAsync(string windowSize, DateTimeOffset cutoff, int batchSize, TimeSpan pause, CancellationToken cancellationToken)
    {
        var total = 0L;
        while (true)
        {
            await using var command = dataSource.CreateCommand(DeleteExpired);
            command.Parameters.Add(new NpgsqlParameter<string>("window_size", windowSize));
            command.Parameters.Add(new NpgsqlParameter<DateTime>("cutoff", cutoff.UtcDateTime));
            command.Parameters.Add(new NpgsqlParameter<int>("batch_size", batchSize));
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            metrics.RowsPruned.Add(deleted, new KeyValuePair<string, object?>("pipeline.window.size", windowSize));
            if (deleted < batchSize)
            {
                return total;
            }

            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause, cancellationToken);
            }
        }
    }
}
