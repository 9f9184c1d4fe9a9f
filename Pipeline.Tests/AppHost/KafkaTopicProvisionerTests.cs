using Pipeline.AppHost.Infrastructure;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The topic check of every mode (<c>WithPipelineTopics</c>), against a real Kafka-protocol broker (librdkafka's mock
/// cluster) started apart from any AppHost. That broker cannot create topics through the Admin
/// API, so creation itself is only seen failing here, by name.
/// </summary>
public sealed class KafkaTopicProvisionerTests
{
    private const string ApplicationId = StreamProcessorTopology.DefaultApplicationId;

    [Fact]
    public async Task ACompleteClusterFitsAndNothingIsCreated()
    {
        using var broker = LocalKafkaBroker.Start();
        foreach (var topic in Topics.All.Concat(StreamProcessorTopology.InternalTopics(ApplicationId)))
        {
            broker.CreateTopic(topic, 4);
        }

        var outcome = await Provisioner(broker).EnsureAsync(CancellationToken.None);

        Assert.Empty(outcome.Problems);
        Assert.Empty(outcome.Created);
    }

    [Fact]
    public async Task AChangelogWithFewerPartitionsThanEventsIsAnErrorNamingIt()
    {
        using var broker = LocalKafkaBroker.Start();
        foreach (var topic in Topics.All)
        {
            broker.CreateTopic(topic, 4);
        }

        var changelog = StreamProcessorTopology.ChangelogTopic(ApplicationId, StreamProcessorTopology.AggregatesStore);
        broker.CreateTopic(changelog, 2);
        broker.CreateTopic(StreamProcessorTopology.ChangelogTopic(ApplicationId, StreamProcessorTopology.EventIdsStore), 4);

        var outcome = await Provisioner(broker).EnsureAsync(CancellationToken.None);

        var problem = Assert.Single(outcome.Problems);
        Assert.Contains($"'{changelog}' has 2 partitions but 'events' has 4", problem);
    }

    [Fact]
    public async Task AMissingTopicTheClusterWillNotCreateIsAnErrorNamingIt()
    {
        using var broker = LocalKafkaBroker.Start();
        foreach (var topic in Topics.All.Where(t => t != Topics.DeadLetter).Concat(StreamProcessorTopology.InternalTopics(ApplicationId)))
        {
            broker.CreateTopic(topic, 4);
        }

        var outcome = await Provisioner(broker).EnsureAsync(CancellationToken.None);

        Assert.Contains(outcome.Problems, problem => problem.StartsWith("Topic 'dead-letter' is missing and could not be created", StringComparison.Ordinal));
        Assert.DoesNotContain("dead-letter", outcome.Created);
    }

    private static KafkaTopicProvisioner Provisioner(LocalKafkaBroker broker) =>
        new(new Dictionary<string, string> { ["bootstrap.servers"] = broker.BootstrapServers, ["allow.auto.create.topics"] = "false" },
            partitions: 4, replicationFactor: KafkaTopicProvisioner.BrokerDefaultReplicationFactor, ApplicationId,
            requestTimeout: TimeSpan.FromSeconds(3));
}
