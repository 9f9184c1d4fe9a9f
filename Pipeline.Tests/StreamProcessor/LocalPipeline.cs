namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// A local Kafka broker with the pipeline's topics and the processor's changelogs created up
/// front (it cannot create them on request), a producer of events, and the truth the
/// aggregates must end up equal to.
/// </summary>
internal sealed class LocalPipeline : IDisposable
{
    public const int Partitions = 4;

    private readonly IProducer<byte[], byte[]> _producer;
    private readonly List<PipelineEvent> _sent = [];

    public LocalPipeline(string applicationId)
    {
        ApplicationId = applicationId;
        Broker = LocalKafkaBroker.Start();
        foreach (var topic in Topics.All.Concat(StreamProcessorTopology.InternalTopics(applicationId)))
        {
            Broker.CreateTopic(topic, Partitions);
        }

        _producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
        }).Build();
    }

    public LocalKafkaBroker Broker { get; }

    public string ApplicationId { get; }

    public IReadOnlyList<PipelineEvent> Sent => _sent;

    /// <summary>Produces events as the API does: keyed by event key, timestamped with the event time.</summary>
    public void Produce(IEnumerable<PipelineEvent> events)
    {
        foreach (var pipelineEvent in events)
        {
            _producer.Produce(Topics.Events, new Message<byte[], byte[]>
            {
                Key = Encoding.UTF8.GetBytes(pipelineEvent.Key),
                Value = PipelineJson.Serialize(pipelineEvent),
                Timestamp = new Timestamp(pipelineEvent.Timestamp),
            });
            _sent.Add(pipelineEvent);
        }

        _producer.Flush(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Events for <paramref name="keys"/> keys with values that are exact in binary, and about
    /// one in ten an earlier event sent again with the same id (a client retry).
    /// </summary>
    public static IEnumerable<PipelineEvent> Events(Random random, int count, int keys, DateTimeOffset around, IReadOnlyList<PipelineEvent> earlier)
    {
        var pool = new List<PipelineEvent>(earlier);
        for (var i = 0; i < count; i++)
        {
            PipelineEvent next;
            if (pool.Count > 0 && random.Next(10) == 0)
            {
                next = pool[random.Next(pool.Count)];
            }
            else
            {
                next = new PipelineEvent(
                    Guid.NewGuid().ToString("N"),
                    $"key-{random.Next(keys)}",
                    random.Next(-400, 400) / 4.0,
                    around.AddMilliseconds(random.Next(-90_000, 90_000)));
                pool.Add(next);
            }

            yield return next;
        }
    }

    /// <summary>What every aggregate must equal: each distinct (key, id) counted once in each of its windows and in all-time.</summary>
    public Dictionary<AggregateId, (long Count, double Sum, double Min, double Max)> Truth(IReadOnlyList<TimeSpan> windows)
    {
        var truth = new Dictionary<AggregateId, (long Count, double Sum, double Min, double Max)>();
        foreach (var pipelineEvent in _sent.DistinctBy(e => (e.Key, e.Id)))
        {
            Add(new AggregateId(pipelineEvent.Key, WindowNames.AllTime, WindowNames.AllTimeStart), pipelineEvent.Value);
            foreach (var window in windows)
            {
                var ms = pipelineEvent.Timestamp.ToUnixTimeMilliseconds();
                var start = DateTimeOffset.FromUnixTimeMilliseconds(ms - ms % (long)window.TotalMilliseconds);
                Add(new AggregateId(pipelineEvent.Key, window == TimeSpan.FromMinutes(1) ? "1m" : "1h", start), pipelineEvent.Value);
            }
        }

        return truth;

        void Add(AggregateId id, double value)
        {
            var (count, sum, min, max) = truth.GetValueOrDefault(id, (0, 0, double.PositiveInfinity, double.NegativeInfinity));
            truth[id] = (count + 1, sum + value, Math.Min(min, value), Math.Max(max, value));
        }
    }

    public void Dispose()
    {
        _producer.Dispose();
        Broker.Dispose();
    }
}

/// <summary>
/// Reads the aggregates topic as a careful consumer would: keeps the highest version of each
/// aggregate, and records every breach of the contract it sees on the way (a version that
/// goes back, one version with two contents, a final record followed by another state).
/// </summary>
internal sealed class AggregatesReader : IDisposable
{
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly Dictionary<AggregateId, AggregateRecord> _latest = [];
    private readonly Dictionary<(AggregateId, long), AggregateRecord> _byVersion = [];

    public AggregatesReader(string bootstrapServers)
    {
        _consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "aggregates-reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        _consumer.Subscribe(Topics.Aggregates);
    }

    public List<string> Breaches { get; } = [];

    public int Records { get; private set; }

    public IReadOnlyDictionary<AggregateId, AggregateRecord> Latest => _latest;

    /// <summary>Reads until the held aggregates equal <paramref name="truth"/> or the deadline passes.</summary>
    public bool WaitFor(Dictionary<AggregateId, (long Count, double Sum, double Min, double Max)> truth, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            ReadFor(TimeSpan.FromMilliseconds(500));
            if (Differences(truth).Count == 0)
            {
                return true;
            }
        }

        return false;
    }

    public void ReadFor(TimeSpan duration)
    {
        var until = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < until)
        {
            var result = _consumer.Consume(TimeSpan.FromMilliseconds(50));
            if (result is not null)
            {
                Hold(PipelineJson.Deserialize<AggregateRecord>(result.Message.Value));
            }
        }
    }

    public List<string> Differences(Dictionary<AggregateId, (long Count, double Sum, double Min, double Max)> truth)
    {
        var differences = new List<string>();
        foreach (var (id, expected) in truth)
        {
            if (!_latest.TryGetValue(id, out var actual))
            {
                differences.Add($"{id}: missing, expected {expected}");
            }
            else if ((actual.Count, actual.Sum, actual.Min, actual.Max) != expected)
            {
                differences.Add($"{id}: {(actual.Count, actual.Sum, actual.Min, actual.Max)} v{actual.Version}, expected {expected}");
            }
        }

        differences.AddRange(_latest.Keys.Where(id => !truth.ContainsKey(id)).Select(id => $"{id}: unexpected"));
        return differences;
    }

    private void Hold(AggregateRecord record)
    {
        Records++;
        var id = record.Id;
        var content = record;
        if (_byVersion.TryGetValue((id, record.Version), out var sameVersion) && sameVersion != content)
        {
            Breaches.Add($"{id} v{record.Version} seen as {sameVersion} and as {content}");
        }

        _byVersion[(id, record.Version)] = content;
        if (_latest.TryGetValue(id, out var held))
        {
            if (record.Version < held.Version)
            {
                Breaches.Add($"{id} went back from v{held.Version} to v{record.Version}");
                return;
            }

            if (held.Final && record.Version > held.Version)
            {
                Breaches.Add($"{id} changed after its final record v{held.Version}");
            }
        }

        _latest[id] = record;
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
