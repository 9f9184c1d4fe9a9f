using Pipeline.Hosting.Local.Postgres;
using Pipeline.Migrator;

namespace Pipeline.Tests.Sink;

/// <summary>A real PostgreSQL with the migrator's schema, shared by the tests of one class; tests keep apart by key.</summary>
public sealed class SinkDatabase : IAsyncLifetime
{
    private LocalPostgresServer? _server;

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = await LocalPostgresServer.StartAsync();
        await _server.CreateDatabaseAsync("pipelinedb");
        ConnectionString = _server.ConnectionString("pipelinedb");
        DatabaseMigrations.Apply(ConnectionString, NullLogger.Instance);
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public Task<AggregateRecord?> ReadTotalsAsync(string key) => ReadTotalsAsync(DataSource, key);

    public Task<List<AggregateRecord>> ReadWindowsAsync(string keyPrefix) => ReadWindowsAsync(DataSource, keyPrefix);

    public Task<List<AggregateRecord>> ReadAllAsync(string keyPrefix) => ReadAllAsync(DataSource, keyPrefix);

    public static async Task<AggregateRecord?> ReadTotalsAsync(NpgsqlDataSource dataSource, string key)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT key, count, sum, min, max, mean, version, updated_at FROM aggregate_totals WHERE key = @key");
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new AggregateRecord(reader.GetString(0), WindowNames.AllTime, WindowNames.AllTimeStart, null, reader.GetInt64(1),
                reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5), false, reader.GetInt64(6),
                reader.GetFieldValue<DateTimeOffset>(7))
            : null;
    }

    /// <summary>Every stored state (totals and windows) of the keys starting with a prefix, in a stable order.</summary>
    public static async Task<List<AggregateRecord>> ReadAllAsync(NpgsqlDataSource dataSource, string keyPrefix)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT key, 'all', '1970-01-01T00:00:00Z'::timestamptz, NULL::timestamptz, count, sum, min, max, mean, false, version, updated_at
            FROM aggregate_totals WHERE starts_with(key, @prefix)
            UNION ALL
            SELECT key, window_size, window_start, window_end, count, sum, min, max, mean, final, version, updated_at
            FROM window_aggregates WHERE starts_with(key, @prefix)
            ORDER BY 1, 2, 3
            """);
        command.Parameters.AddWithValue("prefix", keyPrefix);
        return Aggregates.Ordered(await ReadRecordsAsync(command));
    }

    public static async Task<List<AggregateRecord>> ReadWindowsAsync(NpgsqlDataSource dataSource, string keyPrefix)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT key, window_size, window_start, window_end, count, sum, min, max, mean, final, version, updated_at
            FROM window_aggregates WHERE starts_with(key, @prefix) ORDER BY key, window_size, window_start
            """);
        command.Parameters.AddWithValue("prefix", keyPrefix);
        return await ReadRecordsAsync(command);
    }

    private static async Task<List<AggregateRecord>> ReadRecordsAsync(NpgsqlCommand command)
    {
        var records = new List<AggregateRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            records.Add(new AggregateRecord(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4), reader.GetDouble(5),
                reader.GetDouble(6), reader.GetDouble(7), reader.GetDouble(8), reader.GetBoolean(9), reader.GetInt64(10),
                reader.GetFieldValue<DateTimeOffset>(11)));
        }

        return records;
    }
}
