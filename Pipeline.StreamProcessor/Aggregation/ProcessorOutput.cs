using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors;
using Streamiz.Kafka.Net.SerDes;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// A record the processor sends: an aggregate update or a dead letter. One sink serves both,
/// choosing the topic per record; headers and timestamp travel in the processor context.
/// </summary>
internal sealed record ProcessorOutput(string Topic, byte[]? Value);

/// <summary>Writes a <see cref="ProcessorOutput"/>'s value bytes as they are.</summary>
internal sealed class ProcessorOutputSerDes : AbstractSerDes<ProcessorOutput>
{
    public override byte[]? Serialize(ProcessorOutput data, SerializationContext context) => data?.Value;

    public override ProcessorOutput Deserialize(byte[] data, SerializationContext context) =>
        throw new NotSupportedException("Processor outputs are only written.");
}

/// <summary>Sends each output to its own topic.</summary>
internal sealed class ProcessorOutputTopic : ITopicNameExtractor<byte[], ProcessorOutput>
{
    public string Extract(byte[] key, ProcessorOutput value, IRecordContext recordContext) => value.Topic;
}

/// <summary>
/// Leaves the partition to the producer's key hash. Streamiz's default would reuse the source
/// partition, which punctuations do not have, so one aggregate could land on two partitions.
/// </summary>
internal sealed class PartitionByKey : IStreamPartitioner<byte[], ProcessorOutput>
{
    public void Initialize(IStreamConfig config)
    {
    }

    public Partition Partition(string topic, byte[] key, ProcessorOutput value, Partition sourcePartition, int numPartitions) =>
        Confluent.Kafka.Partition.Any;
}

/// <summary>
/// The key of a record on the events topic, possibly absent. Streamiz silently drops records
/// with a null key before a stateful processor; wrapped, they reach the processor and are
/// dead-lettered like any other bad record.
/// </summary>
internal readonly record struct SourceKey(byte[]? Bytes);

/// <summary>Reads event record keys as they are, null included.</summary>
internal sealed class SourceKeySerDes : AbstractSerDes<SourceKey>
{
    public override byte[]? Serialize(SourceKey data, SerializationContext context) => data.Bytes;

    public override SourceKey Deserialize(byte[]? data, SerializationContext context) => new(data);
}
