using Pipeline.Hosting.Local;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Migrator;

namespace Pipeline.Tests.Migrator;

public sealed class MigratorTests
{
    [Fact]
    public async Task SecondRunAppliesNothingAndLeavesTheSchemaAsItWas()
    {
        await using var postgres = await LocalPostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("pipelinedb");
        var connectionString = postgres.ConnectionString("pipelinedb");

        var first = DatabaseMigrations.Apply(connectionString, NullLogger.Instance);
        var tablesAfterFirst = await ListTablesAsync(connectionString);
        var second = DatabaseMigrations.Apply(connectionString, NullLogger.Instance);

        Assert.Contains(first, script => script.EndsWith("0001_create_aggregate_tables.sql", StringComparison.Ordinal));
        Assert.Empty(second);
        Assert.Empty(DatabaseMigrations.Pending(connectionString));
        Assert.Equal(tablesAfterFirst, await ListTablesAsync(connectionString));
        Assert.Contains("aggregate_totals", tablesAfterFirst);
        Assert.Contains("window_aggregates", tablesAfterFirst);
    }

    [Fact]
    public async Task WindowPagesKeepRoomForInPlaceUpdatesAndTotalsPagesDoNot()
    {
        await using var postgres = await LocalPostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("pipelinedb");
        var connectionString = postgres.ConnectionString("pipelinedb");

        DatabaseMigrations.Apply(connectionString, NullLogger.Instance);

        Assert.Equal(["fillfactor=80"], await StorageOptionsAsync(connectionString, "window_aggregates"));
        Assert.Empty(await StorageOptionsAsync(connectionString, "aggregate_totals"));
    }

    [Fact]
    public async Task UnreachableDatabaseFailsWithTheReason()
    {
        var nothingListens = LocalPostgres.ConnectionString(LoopbackPorts.FindFree(), "unused", "pipelinedb") + ";Timeout=2";

        var failure = Assert.ThrowsAny<Exception>(() => DatabaseMigrations.Apply(nothingListens, NullLogger.Instance));

        Assert.Contains("refused", failure.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MigratorProcessExitsNonZeroWhenItCannotMigrate()
    {
        var nothingListens = LocalPostgres.ConnectionString(LoopbackPorts.FindFree(), "unused", "pipelinedb") + ";Timeout=1";

        var (exitCode, output) = await RunMigratorAsync(("ConnectionStrings__pipelinedb", nothingListens));

        Assert.Equal(1, exitCode);
        Assert.Contains("Database migration failed", output);
    }

    [Fact]
    public async Task MigratorProcessWithoutAConnectionStringSaysWhatToSet()
    {
        var (exitCode, output) = await RunMigratorAsync();

        Assert.Equal(2, exitCode);
        Assert.Contains("ConnectionStrings:pipelinedb", output);
    }

    [Fact]
    public async Task MigratorProcessAppliesTheScriptsAndExitsZero()
    {
        await using var postgres = await LocalPostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("pipelinedb");

        var (exitCode, output) = await RunMigratorAsync(("ConnectionStrings__pipelinedb", postgres.ConnectionString("pipelinedb")));

        Assert.Equal(0, exitCode);
        Assert.Contains("0001_create_aggregate_tables.sql", output);
        Assert.Empty(DatabaseMigrations.Pending(postgres.ConnectionString("pipelinedb")));
    }

    private static async Task<(int ExitCode, string Output)> RunMigratorAsync(params (string Name, string Value)[] environment)
    {
        var startInfo = new System.Diagnostics.ProcessStartInfo("dotnet", [typeof(DatabaseMigrations).Assembly.Location])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.Environment.Remove("ConnectionStrings__pipelinedb");
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        using var migrator = System.Diagnostics.Process.Start(startInfo)!;
        var output = migrator.StandardOutput.ReadToEndAsync();
        var errors = migrator.StandardError.ReadToEndAsync();
        await migrator.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (migrator.ExitCode, await output + await errors);
    }

    private static async Task<string[]> StorageOptionsAsync(string connectionString, string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(reloptions, '{}') FROM pg_class WHERE relname = @table", connection);
        command.Parameters.AddWithValue("table", table);
        return (string[])(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> ListTablesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name", connection);
        var tables = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }
}
