using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Pipeline.Api;
using Pipeline.Api.Aggregates;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Migrator;
using Pipeline.Tests.Sink;

namespace Pipeline.Tests.Api.Aggregates;

/// <summary>
/// The query API while PostgreSQL is stopped (fast shutdown) and once it is back: a 503 problem
/// the client can retry rather than a 500, and right answers again on the first request after
/// the restart, although every pooled connection died with the old server.
/// </summary>
public sealed class QueryDatabaseOutageTests : IAsyncLifetime
{
    private const string ApiKey = "test-outage-key";

    private readonly SinkKafka _kafka = new();
    private LocalPostgresServer _postgres = null!;
    private WebApplicationFactory<ApiAssembly> _api = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _postgres = await LocalPostgresServer.StartAsync();
        await _postgres.CreateDatabaseAsync("pipelinedb");
        var connectionString = _postgres.ConnectionString("pipelinedb");
        DatabaseMigrations.Apply(connectionString, NullLogger.Instance);
        await using (var database = NpgsqlDataSource.Create(connectionString))
        await using (var insert = database.CreateCommand(
            "INSERT INTO aggregate_totals (key, count, sum, min, max, mean, version, updated_at) VALUES ('outage-key', 4, 10, 1, 4, 2.5, 1, now())"))
        {
            await insert.ExecuteNonQueryAsync();
        }

        _api = new WebApplicationFactory<ApiAssembly>().WithWebHostBuilder(host => host
            .UseSetting("ConnectionStrings:kafka", _kafka.Broker.BootstrapServers)
            .UseSetting("ConnectionStrings:pipelinedb", connectionString)
            .UseSetting("Api:Keys:0", ApiKey));
        _client = _api.CreateClient();
        _client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
        await _postgres.DisposeAsync();
        _kafka.Dispose();
    }

    [Fact]
    public async Task QueriesAnswer503WhileTheDatabaseIsDownAndTheTruthOnTheFirstRequestOnceItIsBack()
    {
        // Fill the pool with connections to the server about to stop.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => _client.GetAsync("/api/aggregates/outage-key")));

        await _postgres.StopAsync();

        foreach (var path in new[] { "/api/aggregates/outage-key", "/api/aggregates/outage-key/windows?size=1m", "/api/keys" })
        {
            using var response = await _client.GetAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(DatabaseOutageFilter.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("database-unavailable", problem.RootElement.GetProperty("code").GetString());
        }

        await _postgres.StartAgainAsync();

        using var afterRestart = await _client.GetAsync("/api/aggregates/outage-key");
        Assert.Equal(HttpStatusCode.OK, afterRestart.StatusCode);
        var totals = await afterRestart.Content.ReadFromJsonAsync<AggregateTotals>();
        Assert.Equal((4L, 10.0, 2.5), (totals!.Count, totals.Sum, totals.Mean));
    }
}
