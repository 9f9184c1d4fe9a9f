using Npgsql;

namespace Pipeline.Hosting.Local.Postgres;

/// <summary>Creates a database once the server accepts connections, as Aspire's own PostgreSQL integration does.</summary>
internal static class LocalPostgresDatabaseCreator
{
    public static async Task CreateIfMissingAsync(NpgsqlConnection serverConnection, string database, CancellationToken cancellationToken)
    {
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", serverConnection);
        exists.Parameters.AddWithValue("name", database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        // CREATE DATABASE takes no parameters; the name is quoted as an identifier instead.
        var quoted = new NpgsqlCommandBuilder().QuoteIdentifier(database);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", serverConnection);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }
}
