namespace Pipeline.Tests.Api.Events;

/// <summary>A broker with the events topic, for one test class; and a reader of what the topic really holds.</summary>
public abstract class EventsTopicFixture : IDisposable
{
    protected EventsTopicFixture(int partitions)
    {
        Partitions = partitions;
        Broker = LocalKafkaBroker.Start();
        Broker.CreateTopic(Topics.Events, partitions);
    }

    public LocalKafkaBroker Broker { get; }

    public int Partitions { get; }

    public string BootstrapServers => Broker.BootstrapServers;

    /// <summary>The record at one partition and offset.</summary>
    public ConsumeResult<string, byte[]> ReadAt(int partition, long offset)
    {
        using var consumer = CreateConsumer();
        consumer.Assign(new TopicPartitionOffset(Topics.Events, partition, offset));
        return consumer.Consume(TimeSpan.FromSeconds(20)) ?? throw new TimeoutException($"No record at {partition}@{offset}.");
    }

    /// <summary>Every record the topic holds now, partition by partition.</summary>
    public IReadOnlyList<ConsumeResult<string, byte[]>> ReadAll()
    {
        using var consumer = CreateConsumer();
        var ends = Enumerable.Range(0, Partitions).ToDictionary(
            partition => partition,
            partition => consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Events, partition), TimeSpan.FromSeconds(10)).High.Value);
        var expected = ends.Values.Sum();
        var records = new List<ConsumeResult<string, byte[]>>();
        if (expected == 0)
        {
            return records;
        }

        consumer.Assign(ends.Where(end => end.Value > 0).Select(end => new TopicPartitionOffset(Topics.Events, end.Key, Offset.Beginning)));
        while (records.Count < expected)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(20)) ?? throw new TimeoutException("The topic returned fewer records than its watermarks promise.");
            if (record.Offset < ends[record.Partition.Value])
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>The ids of every event in the topic.</summary>
    public IReadOnlyList<string> ReadAllIds() =>
        ReadAll().Select(record => PipelineJson.Deserialize<PipelineEvent>(record.Message.Value).Id).ToList();

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) => Broker.Dispose();

    private IConsumer<string, byte[]> CreateConsumer() => new ConsumerBuilder<string, byte[]>(new ConsumerConfig
    {
        BootstrapServers = BootstrapServers,
        GroupId = "api-tests-" + Guid.NewGuid().ToString("N"),
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
    }).Build();
}

/// <summary>Four partitions, as a real events topic would have.</summary>
public sealed class PartitionedEventsTopic() : EventsTopicFixture(partitions: 4);

/// <summary>
/// One partition: every accepted event takes the next offset, so two marker events around a
/// request prove from the broker's own offsets that the request produced nothing
/// (<see cref="ApiRequests.AssertProducesNothingAsync"/>).
/// </summary>
public sealed class SinglePartitionEventsTopic() : EventsTopicFixture(partitions: 1);

/// <summary>A one-partition events topic and one API for the whole test class.</summary>
public sealed class SinglePartitionApi : EventsTopicFixture
{
    public SinglePartitionApi()
        : base(partitions: 1)
    {
        Api = new IngestApiFactory(BootstrapServers);
        Client = Api.CreateApiClient();
    }

    public IngestApiFactory Api { get; }

    public HttpClient Client { get; }

    protected override void Dispose(bool disposing)
    {
        Client.Dispose();
        Api.Dispose();
        base.Dispose(disposing);
    }
}
