using Microsoft.Extensions.Logging;
using Npgsql;

namespace Pipeline.Migrator;

/// <summary>How the migrator reaches the database.</summary>
internal static class MigratorConnection
{
    /// <summary>The connection string name, the same in every infrastructure mode.</summary>
    public const string Name = "pipelinedb";

    private static readonly TimeSpan[] Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];

    /// <summary>
    /// Retries while the server cannot be reached at all (a database that is still starting);
    /// a script error is never retried.
    /// </summary>
    public static async Task<T> RetryWhileUnreachableAsync<T>(Func<T> migrate, ILogger logger)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return migrate();
            }
            catch (Exception exception) when (attempt < Backoff.Length && IsUnreachable(exception))
            {
                logger.LogWarning("The database is not reachable yet ({Reason}); retrying in {Delay}.", exception.Message, Backoff[attempt]);
                await Task.Delay(Backoff[attempt]);
            }
        }
    }

    private static bool IsUnreachable(Exception exception) =>
        exception is NpgsqlException { IsTransient: true } || exception.InnerException is NpgsqlException { IsTransient: true };
}
