using Pipeline.Hosting.Local.Postgres;
using Pipeline.Migrator;

namespace Pipeline.Tests.Hosting.Local;

/// <summary>
/// One throwaway PostgreSQL with a migrated <c>pipelinedb</c>, started on first use and
/// stopped when the test process exits, for tests that need the database to exist but do
/// not look into it (the ingest API's tests: the API serves queries too, so it needs one).
/// </summary>
public static class SharedPostgres
{
    private static readonly Lazy<Task<LocalPostgresServer>> Server = new(StartAsync);

    /// <summary>A connection string to the migrated <c>pipelinedb</c>.</summary>
    public static string PipelineDbConnectionString => Server.Value.GetAwaiter().GetResult().ConnectionString("pipelinedb");

    private static async Task<LocalPostgresServer> StartAsync()
    {
        var server = await LocalPostgresServer.StartAsync();
        await server.CreateDatabaseAsync("pipelinedb");
        DatabaseMigrations.Apply(server.ConnectionString("pipelinedb"), NullLogger.Instance);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }
}
