using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;
using Pipeline.Contracts;

namespace Pipeline.Migrator;

/// <summary>How the migrator reaches the database.</summary>
internal static partial class MigratorConnection
{
    /// <summary>The connection string name, the same in every infrastructure mode.</summary>
    public const string Name = ConnectionNames.Database;

    /// <summary>
    /// Retries while the server cannot be reached at all (a database that is still starting);
    /// a script error is never retried.
    /// </summary>
    public static async Task<T> RetryWhileUnreachableAsync<T>(Func<T> migrate, ILogger logger)
    {
        // 1 s, 2 s, 4 s, 8 s: about a quarter of a minute for a server that is still starting.
        var untilReachable = new ResiliencePipelineBuilder<T>()
            .AddRetry(new RetryStrategyOptions<T>
            {
                ShouldHandle = new PredicateBuilder<T>().Handle<Exception>(IsUnreachable),
                MaxRetryAttempts = 4,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromSeconds(1),
                UseJitter = false,
                OnRetry = arguments =>
                {
                    LogUnreachable(logger, arguments.Outcome.Exception!.Message, arguments.RetryDelay);
                    return default;
                },
            })
            .Build();
        return await untilReachable.ExecuteAsync(_ => ValueTask.FromResult(migrate()));
    }

    private static bool IsUnreachable(Exception exception) =>
        exception is NpgsqlException { IsTransient: true } || exception.InnerException is NpgsqlException { IsTransient: true };

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database is not reachable yet ({Reason}); retrying in {Delay}.")]
    private static partial void LogUnreachable(ILogger logger, string reason, TimeSpan delay);
}
