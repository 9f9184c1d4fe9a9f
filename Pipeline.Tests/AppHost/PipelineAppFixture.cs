using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The whole pipeline started once through the AppHost in <c>local</c> mode (a real
/// Kafka-protocol broker and a real PostgreSQL, no containers), shared by the tests of the
/// <see cref="PipelineAppCollection"/>.
/// </summary>
public sealed class PipelineAppFixture : IAsyncLifetime
{
    /// <summary>How long a resource may take to become healthy on a busy 2-core machine.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The API key the tests set through the AppHost's <c>api-key</c> parameter.</summary>
    public const string ApiKey = "apphost-test-key-5f0c1e";

    /// <summary>The services the AppHost runs, all of which must become healthy.</summary>
    public static readonly string[] Services = ["api", "stream-processor", "sink"];

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>A client of the API process that sends the API key.</summary>
    public HttpClient CreateApiClient()
    {
        var client = App.CreateHttpClient("api");
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    public async Task InitializeAsync()
    {
        _app = await StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>Starts the AppHost in local mode and waits until every service is healthy.</summary>
    public static async Task<DistributedApplication> StartAsync(params string[] extraArguments)
    {
        using var cancellation = new CancellationTokenSource(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
            ["--Pipeline:Infrastructure=local", $"--Parameters:api-key={ApiKey}", .. extraArguments],
            (appOptions, _) => appOptions.DisableDashboard = true,
            cancellation.Token);
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
