using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.StreamProcessor.Telemetry;
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
/// Every poll is recorded in <paramref name="activity"/> (a thread that stops polling is stalled).
/// The stream threads' consumers also measure their lag into <paramref name="lag"/>, and never
/// skip records silently: a position below the log start is reported to <paramref name="loss"/>
/// (see <see cref="ConsumerPositionGuard"/>). A stream thread that loses its partitions closes
/// its tasks and rejoins its group (see <see cref="LostPartitionsClientBuilder"/>).
/// </summary>
internal sealed class SteadyPollingKafkaSupplier(
    IStreamConfig config, ConsumerLagReadings? lag = null, RecordLoss? loss = null, ILogger? logger = null, StreamThreadActivity? activity = null) : IKafkaSupplier
{
    private readonly LostPartitionsClientBuilder _builder = new();
    private DefaultKafkaClientSupplier? _inner;

    /// <summary>Streamiz's own supplier, building its clients through <see cref="_builder"/>.</summary>
    private DefaultKafkaClientSupplier Inner => _inner ??= new(new KafkaLoggerAdapter(config), config, _builder);

    public StreamMetricsRegistry MetricsRegistry
    {
        get => Inner.MetricsRegistry;
        set => Inner.MetricsRegistry = value;
    }

    public IConsumer<byte[], byte[]> GetConsumer(ConsumerConfig config, IConsumerRebalanceListener rebalanceListener)
    {
        var log = logger ?? NullLogger.Instance;
        var handBack = new PartitionHandBack();
        var listener = new LostPartitionsListener(rebalanceListener, handBack, log);
        var consumer = _builder.BuildFor(listener, () => Inner.GetConsumer(config, listener));
        return new SteadyPollingConsumer(consumer, lag, config.GroupId,
            positions: loss is null ? null : new ConsumerPositionGuard(loss, log, LostEventsConsequence), activity: activity,
            handBack: handBack);
    }

    private const string LostEventsConsequence = "those events are never counted; the processor goes on from the log start";

    public IConsumer<byte[], byte[]> GetRestoreConsumer(ConsumerConfig config) =>
        new SteadyPollingConsumer(Inner.GetRestoreConsumer(config), activity: activity);

    public IConsumer<byte[], byte[]> GetGlobalConsumer(ConsumerConfig config) => Inner.GetGlobalConsumer(config);

    public IProducer<byte[], byte[]> GetProducer(ProducerConfig config) => Inner.GetProducer(config);

    public IAdminClient GetAdmin(AdminClientConfig config) => Inner.GetAdmin(config);
}

/// <summary>
/// A consumer whose timed polls return a record or wait out their whole timeout; everything else is
/// passed through. Given a <see cref="ConsumerLagReadings"/>, it measures its lag at most once per
/// <c>lagInterval</c>, after a poll, from what the client already knows (no broker round trip):
/// the high watermark of each assigned partition's last fetch minus the position. Each poll that
/// returns is recorded in <paramref name="activity"/>. A commit the group refuses while the thread
/// hands its partitions back is noted in <paramref name="handBack"/> instead of thrown.
/// </summary>
internal sealed class SteadyPollingConsumer(
    IConsumer<byte[], byte[]> inner, ConsumerLagReadings? lag = null, string? consumerGroup = null, TimeSpan? lagInterval = null,
    ConsumerPositionGuard? positions = null, StreamThreadActivity? activity = null, PartitionHandBack? handBack = null)
    : IConsumer<byte[], byte[]>
{
    private readonly long _lagIntervalTicks = (long)((lagInterval ?? TimeSpan.FromSeconds(1)).TotalSeconds * Stopwatch.Frequency);
    private long _nextLagMeasurement;

    public ConsumeResult<byte[], byte[]>? Consume(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        var limit = timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout;
        while (true)
        {
            var left = limit - Stopwatch.GetElapsedTime(started);
            var result = inner.Consume(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (result is not null)
            {
                positions?.Observe(inner, result);
            }

            if (result is not null || left <= TimeSpan.Zero)
            {
                activity?.Polled();
                MeasureLagIfDue();
                return result;
            }
        }
    }

    private void MeasureLagIfDue()
    {
        var now = Stopwatch.GetTimestamp();
        if (lag is null || now < _nextLagMeasurement)
        {
            return;
        }

        _nextLagMeasurement = now + _lagIntervalTicks;
        var assignment = inner.Assignment;
        var measurements = new List<Measurement<long>>(assignment.Count);
        foreach (var partition in assignment)
        {
            // Unknown until the partition's first fetch: no figure rather than a wrong one.
            var watermarks = inner.GetWatermarkOffsets(partition);
            var position = inner.Position(partition);
            if (watermarks.High.IsSpecial || position.IsSpecial)
            {
                continue;
            }

            measurements.Add(ConsumerLag.Measurement(partition, consumerGroup, ConsumerLag.Of(watermarks, position)));
        }

        lag.Publish(this, measurements);
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
    public void Commit(IEnumerable<TopicPartitionOffset> offsets)
    {
        try
        {
            inner.Commit(offsets);
        }
        catch (KafkaException refused) when (handBack is { InProgress: true })
        {
            handBack.Refused(refused.Error);
        }
    }
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
    public void Close()
    {
        lag?.Remove(this);
        inner.Close();
    }

    public void Dispose()
    {
        lag?.Remove(this);
        inner.Dispose();
    }
}
