using Microsoft.Extensions.Options;
using Pipeline.Sink;

namespace Pipeline.Tests.Sink;

/// <summary>A local broker with the sink's topics, a producer playing the stream processor, and sink workers built on it.</summary>
internal sealed class SinkKafka : IDisposable
{
    public const int Partitions = 2;

    private readonly List<IDisposable> _clients = [];
    private RecordLoss? _loss;
    private SinkMetrics? _metrics;

    public SinkKafka()
    {
        Broker = LocalKafkaBroker.Start();
        // As the AppHost does: every topic exists before a service starts (the clients' health checks ask for `events`).
        Broker.CreateTopic(Topics.Events, 1);
        Broker.CreateTopic(Topics.Aggregates, Partitions);
        Broker.CreateTopic(Topics.DeadLetter, 1);
        Producer = Track(new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
        }).Build());
    }

    public LocalKafkaBroker Broker { get; }

    public IProducer<byte[]?, byte[]?> Producer { get; }

    public static SinkOptions Options(int batchSize = 50) => new()
    {
        BatchSize = batchSize,
        Linger = TimeSpan.FromMilliseconds(20),
        RetryInitialDelay = TimeSpan.FromMilliseconds(100),
        RetryMaxDelay = TimeSpan.FromMilliseconds(500),
        LagInterval = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>Produces states as the stream processor does: key = the aggregate's identity as JSON, value = the state.</summary>
    public async Task ProduceAsync(IEnumerable<AggregateRecord> states)
    {
        foreach (var state in states)
        {
            Producer.Produce(Topics.Aggregates, new Message<byte[]?, byte[]?> { Key = PipelineJson.Serialize(state.Id), Value = PipelineJson.Serialize(state) });
        }

        await Task.Run(() => Producer.Flush(TimeSpan.FromSeconds(30)));
    }

    public Task ProduceRawAsync(byte[]? key, byte[]? value, Headers? headers = null) =>
        Producer.ProduceAsync(Topics.Aggregates, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers });

    /// <summary>The meter of the workers' instruments (<see cref="Metrics"/>, <see cref="Loss"/>), this fixture's own.</summary>
    public System.Diagnostics.Metrics.Meter LossMeter { get; } = new("Pipeline.Tests.Sink." + Guid.NewGuid());

    /// <summary>The instruments of the workers made here.</summary>
    public SinkMetrics Metrics => _metrics ??= new SinkMetrics(LossMeter);

    /// <summary>What the workers made here report as lost.</summary>
    public RecordLoss Loss => _loss ??= new RecordLoss(LossMeter, "pipeline.sink", NullLogger.Instance);

    public (AggregateSinkWorker Worker, SinkStatus Status) CreateWorker(IAggregateWriter writer, SinkOptions options)
    {
        var config = new ConsumerConfig { BootstrapServers = Broker.BootstrapServers, SessionTimeoutMs = 6000 };
        SinkExtensions.ConfigureConsumer(config, options.ConsumerGroup);
        var consumer = Track(new ConsumerBuilder<byte[]?, byte[]?>(config).Build());
        var producerConfig = new ProducerConfig { BootstrapServers = Broker.BootstrapServers };
        SinkExtensions.ConfigureDeadLetterProducer(producerConfig);
        var deadLetterProducer = Track(new ProducerBuilder<byte[]?, byte[]?>(producerConfig).Build());
        var status = new SinkStatus();
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        var worker = new AggregateSinkWorker(consumer, writer, new DeadLetterPublisher(new RenewingKafkaProducer<byte[]?, byte[]?>(_ => deadLetterProducer, NullLogger.Instance), wrapped, Metrics), status, Metrics, Loss, wrapped,
            NullLogger<AggregateSinkWorker>.Instance);
        return (worker, status);
    }

    /// <summary>The group's committed offset per partition (-1001 when none).</summary>
    public List<long> CommittedOffsets(string group)
    {
        using var reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = Broker.BootstrapServers, GroupId = group }).Build();
        return reader.Committed(Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topics.Aggregates, p)), TimeSpan.FromSeconds(10))
            .OrderBy(offset => offset.Partition.Value)
            .Select(offset => offset.Offset.Value)
            .ToList();
    }

    public List<long> EndOffsets()
    {
        using var reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = Broker.BootstrapServers, GroupId = "end-offsets" }).Build();
        return Enumerable.Range(0, Partitions)
            .Select(p => reader.QueryWatermarkOffsets(new TopicPartition(Topics.Aggregates, p), TimeSpan.FromSeconds(10)).High.Value)
            .ToList();
    }

    /// <summary>Every record on the dead-letter topic, read from the start.</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> ReadDeadLetters(int expected)
    {
        using var reader = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = "dead-letter-reader-" + Guid.NewGuid(),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        reader.Subscribe(Topics.DeadLetter);
        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { } record)
            {
                records.Add(record);
            }
        }

        // Anything beyond what was expected shows up here too.
        while (reader.Consume(TimeSpan.FromMilliseconds(500)) is { } extra)
        {
            records.Add(extra);
        }

        reader.Close();
        return records;
    }

    public static string Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));

    public void Dispose()
    {
        foreach (var client in Enumerable.Reverse(_clients))
        {
            client.Dispose();
        }

        Broker.Dispose();
    }

    private T Track<T>(T client) where T : IDisposable
    {
        _clients.Add(client);
        return client;
    }
}

/// <summary>Polls until a condition holds or a deadline passes.</summary>
internal static class Eventually
{
    public static async Task<T> HoldsAsync<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await read();
            if (condition(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}
