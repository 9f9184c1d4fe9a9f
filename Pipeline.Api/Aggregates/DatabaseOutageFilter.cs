using System.Net.Sockets;
using Npgsql;

namespace Pipeline.Api.Aggregates;

/// <summary>
/// Keeps a database outage from surfacing as a 500. A restarted PostgreSQL leaves the pool's idle
/// connections broken: the pool is cleared and the read tried once more on a fresh connection
/// (reads are idempotent). If the database is still out of reach, the client gets a 503
/// problem with code <c>database-unavailable</c> and a Retry-After.
/// </summary>
internal sealed partial class DatabaseOutageFilter(NpgsqlDataSource dataSource, ILogger<DatabaseOutageFilter> logger) : IEndpointFilter
{
    public const int RetryAfterSeconds = 2;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (NpgsqlException exception) when (IsOutage(exception) && !context.HttpContext.Response.HasStarted)
        {
            LogRetryingOnFreshConnection(logger, exception.SqlState ?? exception.GetType().Name);
            dataSource.Clear();
        }

        try
        {
            return await next(context);
        }
        catch (NpgsqlException exception) when (IsOutage(exception) && !context.HttpContext.Response.HasStarted)
        {
            LogDatabaseUnavailable(logger, exception);
            context.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return AggregateProblems.DatabaseUnavailable();
        }
    }

    /// <summary>
    /// The server is away or going away (connection exceptions 08, operator intervention 57P,
    /// a broken socket), as opposed to an error in the statement, which stays a 500.
    /// </summary>
    internal static bool IsOutage(NpgsqlException exception) =>
        exception.SqlState is { } state
            ? state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal)
            : exception.IsTransient || exception.InnerException is IOException or SocketException or TimeoutException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "A read failed on a broken database connection ({Reason}); clearing the pool and retrying once.")]
    private static partial void LogRetryingOnFreshConnection(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database is unavailable; answering 503.")]
    private static partial void LogDatabaseUnavailable(ILogger logger, Exception exception);
}
