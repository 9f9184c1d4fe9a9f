using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Pipeline.Api;
using Pipeline.Tests.Hosting.Local;

namespace Pipeline.Tests.Api.Events;

/// <summary>
/// The real Pipeline.Api, in memory, producing to a real Kafka-protocol broker (LocalKafkaBroker).
/// Settings are passed as configuration, as the AppHost would; logs are captured, not printed.
/// The API serves queries too, so it gets a real (shared, otherwise unused) database.
/// </summary>
public sealed class IngestApiFactory(
    string bootstrapServers,
    IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? services = null,
    string environment = "Development",
    bool withApiKeys = true)
    : WebApplicationFactory<ApiAssembly>
{
    public const string ApiKey = "test-key-7c1d2b9e4f6a4d0b";
    public const string SecondApiKey = "test-key-second-0a9f8e7d";

    public CapturedLogs Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(environment);
        var defaults = new Dictionary<string, string?>
        {
            ["ConnectionStrings:kafka"] = bootstrapServers,
            ["ConnectionStrings:pipelinedb"] = SharedPostgres.PipelineDbConnectionString,
            ["Api:RateLimit:TokenLimit"] = "100000",
            ["Api:RateLimit:TokensPerPeriod"] = "100000",
            ["Api:RateLimit:Events:TokenLimit"] = "10000000",
            ["Api:RateLimit:Events:TokensPerPeriod"] = "10000000",
            ["Ingest:ProduceTimeout"] = "00:00:10",
            ["Logging:LogLevel:Default"] = "Information",
        };
        if (withApiKeys)
        {
            defaults["Api:Keys:0"] = ApiKey;
            defaults["Api:Keys:1"] = SecondApiKey;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            defaults[key] = value;
        }

        foreach (var (key, value) in defaults)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(Logs);
        });
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    /// <summary>A client that sends <paramref name="apiKey"/> (none when null) on every request.</summary>
    public HttpClient CreateApiClient(string? apiKey = ApiKey)
    {
        var client = CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }
}
