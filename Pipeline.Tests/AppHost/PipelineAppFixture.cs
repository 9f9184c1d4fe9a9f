using Pipeline.Tests.AppHost.Otlp;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The whole pipeline started once through the AppHost in <c>local</c> mode (a real
/// Kafka-protocol broker and a real PostgreSQL, no containers), shared by the tests of the
/// <see cref="PipelineAppCollection"/>. The services export their traces to
/// <see cref="Traces"/>, where the dashboard would otherwise receive them.
/// </summary>
public sealed class PipelineAppFixture : IAsyncLifetime
{
    /// <summary>How long a resource may take to become healthy on a busy 2-core machine.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The API key the tests set through the AppHost's <c>api-key</c> parameter.</summary>
    public const string ApiKey = "apphost-test-key-5f0c1e";

    /// <summary>The services the AppHost runs, all of which must become healthy.</summary>
    public static readonly string[] Services = ["api", "stream-processor", "sink", "web"];

    /// <summary>What each service logged from its start until every service was healthy (of the last app started).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> StartupLogs { get; private set; } = new Dictionary<string, IReadOnlyList<string>>();

    private DistributedApplication? _app;
    private OtlpTraceReceiver? _traces;

    /// <summary>What the services exported over OTLP.</summary>
    internal OtlpTraceReceiver Traces => _traces ?? throw new InvalidOperationException("The app has not started.");

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>A client of the API process that sends the API key.</summary>
    public HttpClient CreateApiClient() => CreateApiClient(App);

    /// <summary>A client of <paramref name="app"/>'s API process (started by <see cref="StartAsync"/>) that sends the API key.</summary>
    public static HttpClient CreateApiClient(DistributedApplication app)
    {
        var client = app.CreateHttpClient("api");
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    public async Task InitializeAsync()
    {
        _traces = await OtlpTraceReceiver.StartAsync();
        _app = await StartAsync(_traces.Endpoint);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_traces is not null)
        {
            await _traces.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts the AppHost in local mode and waits until every service is healthy; with
    /// <paramref name="otlpEndpoint"/>, the services export their telemetry there over OTLP/HTTP.
    /// </summary>
    public static async Task<DistributedApplication> StartAsync(Uri? otlpEndpoint = null, params string[] extraArguments)
    {
        using var cancellation = new CancellationTokenSource(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
            ["--Pipeline:Infrastructure=local", $"--Parameters:api-key={ApiKey}", .. extraArguments],
            (appOptions, _) => appOptions.DisableDashboard = true,
            cancellation.Token);
        if (otlpEndpoint is not null)
        {
            foreach (var service in appHost.Resources.OfType<ProjectResource>())
            {
                service.Annotations.Add(new EnvironmentCallbackAnnotation(environment =>
                {
                    environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint.ToString();
                    environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                    environment["OTEL_BSP_SCHEDULE_DELAY"] = "500";
                }));
            }
        }

        appHost.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Pipeline", LogLevel.Information));

        var app = await appHost.BuildAsync(cancellation.Token);
        try
        {
            await app.StartAsync(cancellation.Token);
            foreach (var service in Services)
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(service, cancellation.Token);
            }

            StartupLogs = await StartupLog.ReadAsync(app, Services);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineAppCollection : ICollectionFixture<PipelineAppFixture>
{
    public const string Name = "Pipeline app (local mode)";
}
