using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using OpenTelemetry.Trace;
using Pipeline.Sink;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.Tests.Api.Events;
using Pipeline.Tests.Hosting.Local;
using Pipeline.Tests.Sink;
using Pipeline.Tests.StreamProcessor;

namespace Pipeline.Tests.Tracing;

/// <summary>
/// The whole pipeline in this process: the real API, stream processor and sink hosts against a
/// local broker (with the processor's changelogs created up front) and the shared PostgreSQL. Each
/// host's tracer also exports to an in-memory exporter, and each host's logs are captured.
/// One pipeline serves every test of the collection, one test after the other (they tell their
/// events apart by key and trace): a second processor host started in the same test process after
/// the first was disposed fails on a disposed LoggerFactory.
/// </summary>
public sealed class InProcessPipeline : IAsyncLifetime
{
    public const string Collection = "in-process pipeline";

    private readonly LocalPipeline _broker;
    private readonly CapturedLogs _processorLogs = new();
    private readonly CapturedLogs _sinkLogs = new();

    public InProcessPipeline()
    {
        ApplicationId = "pipeline-" + Guid.NewGuid().ToString("N")[..8];
        _broker = new LocalPipeline(ApplicationId);
        var database = SharedPostgres.PipelineDbConnectionString;
        Database = NpgsqlDataSource.Create(database);

        Api = new IngestApiFactory(BootstrapServers, services: services => services.ExportSpansTo(ApiSpans));
        Processor = new WebApplicationFactory<StreamProcessorOptions>().WithWebHostBuilder(host => host
            .UseSetting("ConnectionStrings:kafka", BootstrapServers)
            .UseSetting("StreamProcessor:ApplicationId", ApplicationId)
            .UseSetting("Logging:LogLevel:Default", "Information")
            .ConfigureLogging(logging => logging.ClearProviders().AddProvider(_processorLogs))
            .ConfigureTestServices(services => services.ExportSpansTo(ProcessorSpans)));
        Sink = new WebApplicationFactory<SinkOptions>().WithWebHostBuilder(host => host
            .UseSetting("ConnectionStrings:kafka", BootstrapServers)
            .UseSetting("ConnectionStrings:pipelinedb", database)
            .UseSetting("Sink:Linger", "00:00:00.010")
            .UseSetting("Logging:LogLevel:Default", "Information")
            .ConfigureLogging(logging => logging.ClearProviders().AddProvider(_sinkLogs))
            .ConfigureTestServices(services => services.ExportSpansTo(SinkSpans)));
    }

    internal string ApplicationId { get; }

    internal string BootstrapServers => _broker.Broker.BootstrapServers;

    internal NpgsqlDataSource Database { get; }

    internal IngestApiFactory Api { get; }

    internal WebApplicationFactory<StreamProcessorOptions> Processor { get; }

    internal WebApplicationFactory<SinkOptions> Sink { get; }

    internal ExportedSpans ApiSpans { get; } = new();

    internal ExportedSpans ProcessorSpans { get; } = new();

    internal ExportedSpans SinkSpans { get; } = new();

    /// <summary>What the three hosts logged so far.</summary>
    internal IEnumerable<CapturedLogs.LogEntry> Logs => Api.Logs.Entries.Concat(_processorLogs.Entries).Concat(_sinkLogs.Entries);

    /// <summary>The warnings and errors the hosts logged, to explain a failed wait.</summary>
    internal string Problems() => string.Join("\n", Logs
        .Where(entry => entry.Level >= LogLevel.Warning)
        .Select(entry => $"{entry.Level} {entry.Category}: {entry.Message} {entry.Exception?.GetType().Name} {entry.Exception?.Message}"));

    /// <summary>
    /// Starts the processor and the sink (the API starts with its first client), and waits until
    /// Streamiz runs: an update a task computed but had not sent before a rebalance restored it
    /// is sent again without its event's trace context and time (a known gap), which these tests are not about.
    /// </summary>
    public async Task InitializeAsync()
    {
        _ = Sink.Services;
        var status = Processor.Services.GetRequiredService<StreamProcessorStatus>();
        var state = await Eventually.HoldsAsync(() => Task.FromResult(status.State), state => state == "RUNNING", TimeSpan.FromSeconds(60));
        Assert.Equal("RUNNING", state);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Processor.DisposeAsync();
        await Sink.DisposeAsync();
        await Database.DisposeAsync();
        _broker.Dispose();
    }
}

[CollectionDefinition(InProcessPipeline.Collection)]
public sealed class InProcessPipelineCollection : ICollectionFixture<InProcessPipeline>;

/// <summary>Adds an in-memory exporter to the tracer a host's service defaults already configured.</summary>
internal static class SpanExport
{
    public static void ExportSpansTo(this IServiceCollection services, ExportedSpans spans) =>
        services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(spans));
}
