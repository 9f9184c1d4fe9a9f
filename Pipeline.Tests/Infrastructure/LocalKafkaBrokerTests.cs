using Confluent.Kafka;
using Pipeline.AppHost.Kafka;

namespace Pipeline.Tests.Infrastructure;

public sealed class LocalKafkaBrokerTests
{
    [Fact]
    public async Task RecordProducedToACreatedTopicIsConsumedBackWithKeyAndValue()
    {
        using var broker = LocalKafkaBroker.Start();
        broker.CreateTopic("greetings", partitions: 3);

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        }).Build();
        var delivered = await producer.ProduceAsync("greetings", new Message<string, string> { Key = "k", Value = "hello" });

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "greetings-reader",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("greetings");
        var consumed = consumer.Consume(TimeSpan.FromSeconds(20));

        Assert.NotNull(consumed);
        Assert.Equal(delivered.TopicPartitionOffset, consumed.TopicPartitionOffset);
        Assert.Equal("k", consumed.Message.Key);
        Assert.Equal("hello", consumed.Message.Value);
        consumer.Close();
    }

    [Fact]
    public async Task CreatedTopicHasTheRequestedPartitionCount()
    {
        using var broker = LocalKafkaBroker.Start();
        broker.CreateTopic("sized", partitions: 5);
        broker.CreateTopic("sized", partitions: 5); // a second create is a no-op

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var metadata = await Task.Run(() => admin.GetMetadata("sized", TimeSpan.FromSeconds(10)));

        Assert.Equal(5, Assert.Single(metadata.Topics).Partitions.Count);
    }

    [Fact]
    public async Task ProduceFailsWhileTheBrokerIsDownAndSucceedsAfterItIsBack()
    {
        using var broker = LocalKafkaBroker.Start();
        broker.CreateTopic("outage", partitions: 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = 2000,
        }).Build();
        await producer.ProduceAsync("outage", new Message<Null, string> { Value = "before" });

        broker.TakeDown();
        var failure = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync("outage", new Message<Null, string> { Value = "during" }));
        Assert.Equal(ErrorCode.Local_MsgTimedOut, failure.Error.Code);

        broker.BringUp();
        var after = await producer.ProduceAsync("outage", new Message<Null, string> { Value = "after" });
        Assert.Equal(PersistenceStatus.Persisted, after.Status);
    }
}
