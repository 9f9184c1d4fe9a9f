using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Migrator;

/// <summary>The migrator's one run, and its exit code: 0 applied or current, 1 failed, 2 no connection string.</summary>
internal static partial class MigrationRun
{
    public const int Current = 0;
    public const int Failed = 1;
    public const int NoConnection = 2;

    public static async Task<int> ExecuteAsync(IServiceProvider services, IConfiguration configuration)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Migrator");
        var connectionString = configuration.GetConnectionString(MigratorConnection.Name);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            LogNoConnection(logger, MigratorConnection.Name);
            return NoConnection;
        }

        try
        {
            var applied = await MigratorConnection.RetryWhileUnreachableAsync(() => DatabaseMigrations.Apply(connectionString, logger), logger);
            if (applied.Count == 0)
            {
                LogCurrent(logger);
            }
            else
            {
                LogApplied(logger, applied.Count, string.Join(", ", applied));
            }

            return Current;
        }
        catch (Exception exception)
        {
            LogFailed(logger, exception);
            return Failed;
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "No database connection: set ConnectionStrings:{ConnectionName}, or run the migrator from Pipeline.AppHost.")]
    private static partial void LogNoConnection(ILogger logger, string connectionName);

    [LoggerMessage(Level = LogLevel.Information, Message = "The database schema is current; no script to apply.")]
    private static partial void LogCurrent(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied {ScriptCount} migration script(s): {Scripts}")]
    private static partial void LogApplied(ILogger logger, int scriptCount, string scripts);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Database migration failed; services that wait for the migrator will not start.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
