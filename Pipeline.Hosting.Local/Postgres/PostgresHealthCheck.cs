using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Pipeline.Hosting.Local.Postgres;

/// <summary>Healthy when a connection to the database opens and answers a query.</summary>
internal sealed class PostgresHealthCheck(Func<CancellationToken, ValueTask<string?>> connectionString) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await connectionString(cancellationToken);
            if (connection is null)
            {
                return HealthCheckResult.Unhealthy("No connection string yet.");
            }

            await using var dataSource = NpgsqlDataSource.Create(connection + ";Timeout=3;Pooling=false");
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("The database does not answer.", exception);
        }
    }
}
