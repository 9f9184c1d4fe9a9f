using Microsoft.Extensions.Options;

namespace Pipeline.Tests.Api;

public sealed class ApiStartupTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    [Fact]
    public void ApiWithoutAnyKeyRefusesToStartAndSaysHowToConfigureOne()
    {
        using var api = new IngestApiFactory(topic.BootstrapServers, withApiKeys: false);

        var failure = Assert.Throws<OptionsValidationException>(() => api.CreateClient());

        Assert.Contains("Api__Keys__0", failure.Message);
        Assert.Contains("api-key", failure.Message);
    }

    [Fact]
    public void ApiWithABlankKeyRefusesToStart()
    {
        using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?> { ["Api:Keys:2"] = "  " });

        var failure = Assert.Throws<OptionsValidationException>(() => api.CreateClient());

        Assert.Contains("Api:Keys holds an empty key", failure.Message);
    }

    [Theory]
    [InlineData("Ingest:MaxBatchSize", "0", "Ingest:MaxBatchSize")]
    [InlineData("Ingest:ProduceTimeout", "00:00:00", "Ingest:ProduceTimeout")]
    [InlineData("Ingest:MaxBodyBytes", "10", "Ingest:MaxBodyBytes")]
    [InlineData("Api:RateLimit:TokenLimit", "0", "Api:RateLimit:TokenLimit")]
    public void ApiWithAnInvalidSettingRefusesToStartAndNamesIt(string key, string value, string named)
    {
        using var api = new IngestApiFactory(topic.BootstrapServers, new Dictionary<string, string?> { [key] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => api.CreateClient());

        Assert.Contains(named, failure.Message);
    }
}
