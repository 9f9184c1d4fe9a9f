using System.Reflection;
using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;

namespace Pipeline.Migrator;

/// <summary>
/// Applies the SQL scripts embedded under <c>Scripts/</c>, in name order, each in its own
/// transaction, recording what ran in DbUp's journal table so that a second run is a no-op.
/// Scripts are only ever added: an applied script is never edited.
/// </summary>
public static class DatabaseMigrations
{
    /// <summary>The scripts that have not been applied to the database yet, in the order they would run.</summary>
    public static IReadOnlyList<string> Pending(string connectionString) =>
        CreateUpgrader(connectionString, NullLogger.Instance).GetScriptsToExecute().Select(script => script.Name).ToList();

    /// <summary>Applies every pending script; returns the names of those applied, or throws with the failing script's error.</summary>
    public static IReadOnlyList<string> Apply(string connectionString, ILogger logger)
    {
        var result = CreateUpgrader(connectionString, logger).PerformUpgrade();
        if (!result.Successful)
        {
            throw new MigrationFailedException(result.ErrorScript?.Name, result.Error);
        }

        return result.Scripts.Select(script => script.Name).ToList();
    }

    private static DbUp.Engine.UpgradeEngine CreateUpgrader(string connectionString, ILogger logger) =>
        DeployChanges.To
            .PostgresqlDatabase(connectionString)
            .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(), name => name.EndsWith(".sql", StringComparison.Ordinal))
            .WithTransactionPerScript()
            .LogTo(new UpgradeLog(logger))
            .Build();

    private sealed class NullLogger : ILogger
    {
        public static readonly NullLogger Instance = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }

    // DbUp logs with composite format strings; they are rendered here and passed on as one value.
    private sealed class UpgradeLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => Write(LogLevel.Trace, null, format, args);

        public void LogDebug(string format, params object[] args) => Write(LogLevel.Debug, null, format, args);

        public void LogInformation(string format, params object[] args) => Write(LogLevel.Information, null, format, args);

        public void LogWarning(string format, params object[] args) => Write(LogLevel.Warning, null, format, args);

        public void LogError(string format, params object[] args) => Write(LogLevel.Error, null, format, args);

        public void LogError(Exception ex, string format, params object[] args) => Write(LogLevel.Error, ex, format, args);

        private void Write(LogLevel level, Exception? exception, string format, object[] args)
        {
            if (logger.IsEnabled(level))
            {
                logger.Log(level, exception, "DbUp: {DbUpMessage}", string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
            }
        }
    }
}

/// <summary>A migration script failed; nothing after it ran, and its own transaction was rolled back.</summary>
public sealed class MigrationFailedException(string? script, Exception? inner)
    : Exception($"Migration script {script ?? "(unknown)"} failed: {inner?.Message}", inner)
{
    /// <summary>The script that failed.</summary>
    public string? Script { get; } = script;
}
