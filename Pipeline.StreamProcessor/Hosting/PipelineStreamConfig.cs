using Confluent.Kafka;
using Streamiz.Kafka.Net;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Streamiz's configuration, with one thing cached. Streamiz 1.8 asks for the admin client's
/// configuration on every record it sends through a partitioner (<c>StreamsProducer.PartitionsFor</c>
/// reads the metadata refresh interval from it), and builds it anew each time from every setting
/// it holds: a fifth of the stream thread's time and much of its garbage in the processor's
/// profile (bench/Processor/README.md). That lookup asks with an empty client id; it gets one
/// configuration built once. Every other caller builds an admin client and gets a fresh one.
/// </summary>
internal sealed class PipelineStreamConfig : StreamConfig, IStreamConfig
{
    private AdminClientConfig? _partitionLookup;

    AdminClientConfig IStreamConfig.ToAdminConfig(string clientId) =>
        clientId.Length == 0 ? _partitionLookup ??= ToAdminConfig(clientId) : ToAdminConfig(clientId);
}
