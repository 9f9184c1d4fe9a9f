using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Pipeline.Api;

namespace Pipeline.Bench.Ingest;

/// <summary>
/// The real Pipeline.Api, hosted in this process on a loopback Kestrel port, configured as the
/// AppHost would configure it; the rate limit is lifted so that it does not cap the measurement.
/// The API serves queries too and will not start without its database, so it gets one (otherwise
/// unused by the benchmark).
/// </summary>
internal sealed class InProcessApi : WebApplicationFactory<ApiAssembly>
{
    public const string ApiKey = "bench-key-3f7a9c1e5b2d4f60";

    private readonly string _bootstrapServers;
    private readonly string _databaseConnectionString;
    private readonly TimeSpan _produceTimeout;
    private readonly bool _backpressure;
    private readonly IReadOnlyDictionary<string, string> _settings;

    /// <param name="backpressure">False switches the backlog check off (Ingest:Backlog:MaxRecordsPerPartition=0).</param>
    /// <param name="settings">More configuration, e.g. <c>Kafka:Producer:linger.ms</c>.</param>
    public InProcessApi(string bootstrapServers, string databaseConnectionString, TimeSpan produceTimeout, bool backpressure = true,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        _bootstrapServers = bootstrapServers;
        _databaseConnectionString = databaseConnectionString;
        _produceTimeout = produceTimeout;
        _backpressure = backpressure;
        _settings = settings ?? new Dictionary<string, string>();
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        StartServer();
    }

    /// <summary>A client for the API's loopback address, with one connection per concurrent caller.</summary>
    public HttpClient CreateClient(int connections)
    {
        var baseAddress = CreateClient().BaseAddress ?? throw new InvalidOperationException("The API has no address.");
        if (!IPAddress.IsLoopback(IPAddress.Parse(baseAddress.Host)))
        {
            throw new InvalidOperationException($"The API listens on {baseAddress}, not on loopback.");
        }

        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("ConnectionStrings:kafka", _bootstrapServers);
        builder.UseSetting("ConnectionStrings:pipelinedb", _databaseConnectionString);
        builder.UseSetting("Api:Keys:0", ApiKey);
        builder.UseSetting("Api:RateLimit:TokenLimit", "100000000");
        builder.UseSetting("Api:RateLimit:TokensPerPeriod", "100000000");
        // Ingest also counts events per key: the benchmark measures the API, not its limit.
        builder.UseSetting("Api:RateLimit:Events:TokenLimit", "100000000");
        builder.UseSetting("Api:RateLimit:Events:TokensPerPeriod", "100000000");
        builder.UseSetting("Ingest:ProduceTimeout", _produceTimeout.ToString());
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (!_backpressure)
        {
            builder.UseSetting("Ingest:Backlog:MaxRecordsPerPartition", "0");
        }
    }
}
