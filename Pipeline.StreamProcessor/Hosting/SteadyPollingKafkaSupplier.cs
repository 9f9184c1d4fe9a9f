using System.Diagnostics;
using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Kafka;
using Streamiz.Kafka.Net.Metrics;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Streamiz's own Kafka clients, with consumers that never come back empty-handed before their
/// timeout. Streamiz 1.8 polls through a loop (<c>KafkaExtensions.ConsumeRecords</c>) that, when
/// a poll returns nothing early, waits next for 1000 / (2 ln(ms left) + 1) ms: 150 ms to
/// seconds instead of the few ms left, and a negative (unbounded) wait when under 0.6 ms are
/// left. Either stalls the stream thread, and with it punctuation, emission and commits. A poll
/// that only returns empty at its deadline leaves that loop nothing left to wait for.
/// </summary>
internal sealed class SteadyPollingKafkaSupplier(IStreamConfig config) : IKafkaSupplier
{
    private readonly DefaultKafkaClientSupplier _inner = new(new KafkaLoggerAdapter(config), config);

    public StreamMetricsRegistry MetricsRegistry
    {
        get => _inner.MetricsRegistry;
        set => _inner.MetricsRegistry = value;
    }

    public IConsumer<byte[], byte[]> GetConsumer(ConsumerConfig config, IConsumerRebalanceListener rebalanceListener) =>
        new SteadyPollingConsumer(_inner.GetConsumer(config, rebalanceListener));

    public IConsumer<byte[], byte[]> GetRestoreConsumer(ConsumerConfig config) =>
        new SteadyPollingConsumer(_inner.GetRestoreConsumer(config));

    public IConsumer<byte[], byte[]> GetGlobalConsumer(ConsumerConfig config) => _inner.GetGlobalConsumer(config);

    public IProducer<byte[], byte[]> GetProducer(ProducerConfig config) => _inner.GetProducer(config);

    public IAdminClient GetAdmin(AdminClientConfig config) => _inner.GetAdmin(config);
}

/// <summary>A consumer whose timed polls return a record or wait out their whole timeout; everything else is passed through.</summary>
internal sealed class SteadyPollingConsumer(IConsumer<byte[], byte[]> inner) : IConsumer<byte[], byte[]>
{
    public ConsumeResult<byte[], byte[]>? Consume(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        var limit = timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout;
        while (true)
        {
            var left = limit - Stopwatch.GetElapsedTime(started);
            var result = inner.Consume(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (result is not null || left <= TimeSpan.Zero)
            {
                return result;
            }
        }
    }

    public ConsumeResult<byte[], byte[]>? Consume(int millisecondsTimeout) =>
        millisecondsTimeout < 0 ? inner.Consume(millisecondsTimeout) : Consume(TimeSpan.FromMilliseconds(millisecondsTimeout));

    public ConsumeResult<byte[], byte[]> Consume(CancellationToken cancellationToken = default) => inner.Consume(cancellationToken);

    public Handle Handle => inner.Handle;
    public string Name => inner.Name;
    public string MemberId => inner.MemberId;
    public List<TopicPartition> Assignment => inner.Assignment;
    public List<string> Subscription => inner.Subscription;
    public IConsumerGroupMetadata ConsumerGroupMetadata => inner.ConsumerGroupMetadata;

    public int AddBrokers(string brokers) => inner.AddBrokers(brokers);
    public void SetSaslCredentials(string username, string password) => inner.SetSaslCredentials(username, password);
    public void Subscribe(IEnumerable<string> topics) => inner.Subscribe(topics);
    public void Subscribe(string topic) => inner.Subscribe(topic);
    public void Unsubscribe() => inner.Unsubscribe();
    public void Assign(TopicPartition partition) => inner.Assign(partition);
    public void Assign(TopicPartitionOffset partition) => inner.Assign(partition);
    public void Assign(IEnumerable<TopicPartitionOffset> partitions) => inner.Assign(partitions);
    public void Assign(IEnumerable<TopicPartition> partitions) => inner.Assign(partitions);
    public void IncrementalAssign(IEnumerable<TopicPartitionOffset> partitions) => inner.IncrementalAssign(partitions);
    public void IncrementalAssign(IEnumerable<TopicPartition> partitions) => inner.IncrementalAssign(partitions);
    public void IncrementalUnassign(IEnumerable<TopicPartition> partitions) => inner.IncrementalUnassign(partitions);
    public void Unassign() => inner.Unassign();
    public void StoreOffset(ConsumeResult<byte[], byte[]> result) => inner.StoreOffset(result);
    public void StoreOffset(TopicPartitionOffset offset) => inner.StoreOffset(offset);
    public List<TopicPartitionOffset> Commit() => inner.Commit();
    public void Commit(IEnumerable<TopicPartitionOffset> offsets) => inner.Commit(offsets);
    public void Commit(ConsumeResult<byte[], byte[]> result) => inner.Commit(result);
    public void Seek(TopicPartitionOffset tpo) => inner.Seek(tpo);
    public void Pause(IEnumerable<TopicPartition> partitions) => inner.Pause(partitions);
    public void Resume(IEnumerable<TopicPartition> partitions) => inner.Resume(partitions);
    public List<TopicPartitionOffset> Committed(TimeSpan timeout) => inner.Committed(timeout);
    public List<TopicPartitionOffset> Committed(IEnumerable<TopicPartition> partitions, TimeSpan timeout) => inner.Committed(partitions, timeout);
    public Offset Position(TopicPartition partition) => inner.Position(partition);
    public List<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> timestampsToSearch, TimeSpan timeout) => inner.OffsetsForTimes(timestampsToSearch, timeout);
    public WatermarkOffsets GetWatermarkOffsets(TopicPartition topicPartition) => inner.GetWatermarkOffsets(topicPartition);
    public WatermarkOffsets QueryWatermarkOffsets(TopicPartition topicPartition, TimeSpan timeout) => inner.QueryWatermarkOffsets(topicPartition, timeout);
    public void Close() => inner.Close();
    public void Dispose() => inner.Dispose();
}
