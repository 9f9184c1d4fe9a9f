using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Pipeline.Api;
using Pipeline.Api.Aggregates;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Migrator;
using Pipeline.Sink;
using Pipeline.Tests.Sink;

namespace Pipeline.Tests.Api.Aggregates;

/// <summary>
/// The read side end to end in-process: states produced to a local broker as the stream
/// processor would, the real sink host writing them into a real PostgreSQL, and the real API
/// host answering queries over that database.
/// </summary>
public sealed class QueryApiFixture : IAsyncLifetime
{
    public const string ApiKey = "test-query-key";

    private LocalPostgresServer? _postgres;

    internal SinkKafka Kafka { get; private set; } = null!;

    public WebApplicationFactory<SinkOptions> Sink { get; private set; } = null!;

    public WebApplicationFactory<ApiAssembly> Api { get; private set; } = null!;

    public NpgsqlDataSource Database { get; private set; } = null!;

    /// <summary>Every state produced, in production order.</summary>
    public List<AggregateRecord> Produced { get; } = [];

    public async Task InitializeAsync()
    {
        Kafka = new SinkKafka();
        _postgres = await LocalPostgresServer.StartAsync();
        await _postgres.CreateDatabaseAsync("pipelinedb");
        var connectionString = _postgres.ConnectionString("pipelinedb");
        DatabaseMigrations.Apply(connectionString, NullLogger.Instance);
        Database = NpgsqlDataSource.Create(connectionString);

        Sink = new WebApplicationFactory<SinkOptions>().WithWebHostBuilder(host => host
            .UseSetting("ConnectionStrings:kafka", Kafka.Broker.BootstrapServers)
            .UseSetting("ConnectionStrings:pipelinedb", connectionString)
            .UseSetting("Sink:Linger", "00:00:00.010")
            .UseSetting("Kafka:Consumer:session.timeout.ms", "6000"));
        _ = Sink.Services; // starts the sink
        Api = new WebApplicationFactory<ApiAssembly>().WithWebHostBuilder(host => host
            .UseSetting("ConnectionStrings:kafka", Kafka.Broker.BootstrapServers)
            .UseSetting("ConnectionStrings:pipelinedb", connectionString)
            .UseSetting("Api:Keys:0", ApiKey));
        _ = Api.Services;

        foreach (var state in QueryData.States())
        {
            Produced.Add(state);
        }

        await Kafka.ProduceAsync(Produced);
        await WaitUntilStoredAsync(Produced);
    }

    /// <summary>A client of the API that sends the configured API key.</summary>
    public HttpClient CreateClient()
    {
        var client = Api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    /// <summary>Waits until the database holds the highest version of each of these states.</summary>
    public async Task WaitUntilStoredAsync(IEnumerable<AggregateRecord> states)
    {
        var truth = Tests.Sink.Aggregates.Truth(states);
        foreach (var prefix in truth.Select(state => state.Key).Distinct())
        {
            var expected = truth.Where(state => state.Key == prefix).ToList();
            var stored = await Eventually.HoldsAsync(
                async () => (await SinkDatabase.ReadAllAsync(Database, prefix)).Where(state => state.Key == prefix).ToList(),
                rows => rows.SequenceEqual(expected));
            Assert.Equal(expected, stored);
        }
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Sink.DisposeAsync();
        await Database.DisposeAsync();
        Kafka.Dispose();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}

/// <summary>The known states the query tests read back, and the figures they must find.</summary>
internal static class QueryData
{
    public static readonly DateTimeOffset Start = new(2030, 1, 2, 3, 0, 0, TimeSpan.Zero);

    public const int AlphaMinuteWindows = 57;

    /// <summary>By count alpha, beta, gamma; by sum beta, gamma, alpha; by updatedAt alpha, gamma, beta.</summary>
    public static readonly AggregateRecord Alpha = Totals("q-alpha", count: 30, sum: 10.5, min: -4.25, max: 9.75, updated: 3);
    public static readonly AggregateRecord Beta = Totals("q-beta", count: 20, sum: 99.25, min: 0.5, max: 40, updated: 1);
    public static readonly AggregateRecord Gamma = Totals("q-gamma", count: 10, sum: 50, min: 5, max: 5, updated: 2);

    public static IEnumerable<AggregateRecord> States()
    {
        // Older versions of the totals arrive too, some after the newest: the sink keeps the newest.
        foreach (var totals in new[] { Alpha, Beta, Gamma })
        {
            yield return totals with { Count = 1, Sum = 1, Version = 1 };
            yield return totals;
            yield return totals with { Count = 2, Sum = 2, Version = 2 };
        }

        for (var i = 0; i < AlphaMinuteWindows; i++)
        {
            yield return Window("q-alpha", "1m", Start.AddMinutes(i), count: i + 1, version: i + 1);
        }

        for (var i = 0; i < 3; i++)
        {
            yield return Window("q-alpha", "1h", Start.AddHours(i), count: 100 + i, version: 7);
        }
    }

    public static AggregateRecord Window(string key, string size, DateTimeOffset start, long count, long version) =>
        new(key, size, start, start + (size == "1h" ? TimeSpan.FromHours(1) : TimeSpan.FromMinutes(1)), count, count * 0.5, 0.5, count * 0.25, 0.5,
            Final: count % 2 == 0, version, start.AddSeconds(30));

    private static AggregateRecord Totals(string key, long count, double sum, double min, double max, int updated) =>
        new(key, WindowNames.AllTime, WindowNames.AllTimeStart, null, count, sum, min, max, sum / count, false, Version: 9,
            Start.AddSeconds(updated).AddMilliseconds(123.456));
}
