using Microsoft.Extensions.Options;
using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Http;

public sealed class ApiStartupTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    [Fact]
    public void ApiWithoutAnyKeyRefusesToStartAndSaysHowToConfigureOne()
    {
        using var api = new IngestApiFactory(topic.BootstrapServers, withApiKeys: false);

        var reason = StartupFailure(api);

        Assert.Contains("No API key is configured: set Api:Keys:0 (environment Api__Keys__0)", reason);
        Assert.Contains("secret parameter 'api-key'", reason);
    }

    [Fact]
    public void ApiWithABlankKeyRefusesToStart()
    {
        using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?> { ["Api:Keys:2"] = "  " });

        Assert.Contains("Api:Keys holds an empty key", StartupFailure(api));
    }

    [Theory]
    [InlineData("Ingest:MaxBatchSize", "0")]
    [InlineData("Ingest:ProduceTimeout", "00:00:00")]
    [InlineData("Ingest:MaxBodyBytes", "10")]
    [InlineData("Ingest:MaxEventAge", "-1.00:00:00")]
    [InlineData("Api:RateLimit:TokenLimit", "0")]
    [InlineData("Api:RateLimit:Events:TokensPerPeriod", "0")]
    [InlineData("Api:RateLimit:Events:TokenLimit", "9999")] // less than the largest batch (Ingest:MaxBatchSize, 10,000)
    [InlineData("Api:RateLimit:Unauthenticated:ReplenishmentPeriod", "00:00:00")]
    public void ApiWithAnInvalidSettingRefusesToStartAndNamesIt(string key, string value)
    {
        using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?> { [key] = value });

        Assert.Contains(key + " must", StartupFailure(api));
    }

    /// <summary>
    /// Starts the API, expecting it to fail, and returns why. WebApplicationFactory sometimes
    /// reports a failed start as an ObjectDisposedException from its own host wrapper; the host's
    /// log has the real reason in every case.
    /// </summary>
    private static string StartupFailure(IngestApiFactory api)
    {
        var failure = Assert.ThrowsAny<Exception>(() => api.CreateClient());
        var reasons = new List<Exception> { failure };
        reasons.AddRange(api.Logs.Entries.Select(entry => entry.Exception).OfType<Exception>());
        var validation = reasons.SelectMany(Flatten).OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(validation is not null, "The API failed to start, but not for a setting: " + failure);
        return validation.Message;
    }

    private static IEnumerable<Exception> Flatten(Exception exception) =>
        exception is AggregateException aggregate
            ? aggregate.InnerExceptions.SelectMany(Flatten).Prepend(exception)
            : exception.InnerException is { } inner ? Flatten(inner).Prepend(exception) : [exception];
}
