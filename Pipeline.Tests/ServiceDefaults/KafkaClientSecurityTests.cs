using Microsoft.Extensions.Configuration;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;

namespace Pipeline.Tests.ServiceDefaults;

/// <summary>One set of <c>Kafka:Security</c> settings reaches every Kafka client of the pipeline.</summary>
public sealed class KafkaClientSecurityTests
{
    private static readonly Dictionary<string, string?> ManagedCluster = new()
    {
        ["ConnectionStrings:kafka"] = "broker.example:9092",
        ["Kafka:Security:security.protocol"] = "SASL_SSL",
        ["Kafka:Security:sasl.mechanism"] = "PLAIN",
        ["Kafka:Security:sasl.username"] = "pipeline",
        ["Kafka:Security:sasl.password"] = "not-a-real-secret",
        ["Kafka:Security:ssl.ca.location"] = "/etc/ssl/certs/ca-certificates.crt",
    };

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    [Theory]
    [InlineData("Producer")]
    [InlineData("Consumer")]
    public void ProducersAndConsumersTakeTheSecuritySettings(string client)
    {
        var properties = KafkaConnection.ReadClientProperties(Configuration(ManagedCluster), "kafka", client);

        Assert.Equal("broker.example:9092", properties["bootstrap.servers"]);
        Assert.Equal("SASL_SSL", properties["security.protocol"]);
        Assert.Equal("PLAIN", properties["sasl.mechanism"]);
        Assert.Equal(("pipeline", "not-a-real-secret"), (properties["sasl.username"], properties["sasl.password"]));
        Assert.Equal("/etc/ssl/certs/ca-certificates.crt", properties["ssl.ca.location"]);
    }

    [Fact]
    public void EveryClientStreamizMakesTakesTheSecuritySettings()
    {
        var config = StreamConfiguration.Create(new StreamProcessorOptions(), "broker.example:9092", loggerFactory: null);
        StreamSecurity.Apply(config, KafkaClientSecurity.Read(Configuration(ManagedCluster)));

        ClientConfig[] clients =
        [
            config.ToConsumerConfig("main"), config.ToRestoreConsumerConfig("restore"), config.ToGlobalConsumerConfig("global"),
            config.ToProducerConfig("producer"), config.ToAdminConfig("admin"),
        ];
        foreach (var client in clients)
        {
            Assert.Equal("sasl_ssl", client.Get("security.protocol"));
            Assert.Equal("PLAIN", client.Get("sasl.mechanism"));
            Assert.Equal(("pipeline", "not-a-real-secret"), (client.SaslUsername, client.SaslPassword));
            Assert.Equal("/etc/ssl/certs/ca-certificates.crt", client.SslCaLocation);
        }
    }

    [Fact]
    public void ASettingThatIsNotAboutSecurityIsRefusedByName()
    {
        var settings = new Dictionary<string, string?>(ManagedCluster) { ["Kafka:Security:linger.ms"] = "5" };

        var failure = Assert.Throws<InvalidOperationException>(() => KafkaClientSecurity.Read(Configuration(settings)));

        Assert.Contains("Kafka:Security:linger.ms", failure.Message);
        Assert.Contains("Kafka:Producer", failure.Message);
    }

    [Fact]
    public void TheStreamProcessorRefusesToStartWithAnUnknownSecuritySetting()
    {
        var settings = new Dictionary<string, string?>(ManagedCluster) { ["Kafka:Security:sasl.user"] = "typo" };
        var validator = new StreamProcessorFitValidator(
            Microsoft.Extensions.Options.Options.Create(new AggregationOptions()), Configuration(settings));

        var result = validator.Validate(null, new StreamProcessorOptions());

        Assert.Contains(result.Failures!, failure => failure.Contains("Kafka:Security:sasl.user", StringComparison.Ordinal));
    }
}
