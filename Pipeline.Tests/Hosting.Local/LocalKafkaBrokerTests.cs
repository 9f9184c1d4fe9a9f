namespace Pipeline.Tests.Hosting.Local;

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

    [Fact]
    public void APartitionKeepsOnlyItsNewestFiveMebibytesAndDropsTheOldestSilently()
    {
        using var broker = LocalKafkaBroker.Start();
        broker.CreateTopic("retention", partitions: 1);
        const int RecordBytes = 10 * 1024;
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            LingerMs = 0,
            BatchNumMessages = 1, // one record a batch, so what is kept is counted in records
        }).Build())
        {
            for (var i = 0; i < 1_000; i++)
            {
                producer.Produce("retention", new Message<Null, byte[]> { Value = new byte[RecordBytes] });
            }

            producer.Flush(TimeSpan.FromSeconds(60));
        }

        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "retention-reader",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition("retention", 0), TimeSpan.FromSeconds(10));
        var kept = watermarks.High.Value - watermarks.Low.Value;

        Assert.Equal(1_000, watermarks.High.Value);
        // As many whole batches (a record plus under 100 bytes of framing) as fit in RetainedBytesPerPartition, and no more.
        Assert.True(kept * RecordBytes <= LocalKafkaBroker.RetainedBytesPerPartition, $"{kept} records kept");
        Assert.True((kept + 1) * (RecordBytes + 100) > LocalKafkaBroker.RetainedBytesPerPartition, $"only {kept} records kept");
        // A reader asking for offset 0 is moved to the log start without a word.
        consumer.Assign(new TopicPartitionOffset("retention", 0, 0));
        var first = consumer.Consume(TimeSpan.FromSeconds(20));
        Assert.Equal(watermarks.Low.Value, first?.Offset.Value);
    }
}
