using Confluent.Kafka;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Asks the broker where a changelog partition starts and ends, for the check that a task's
/// restored state is whole. One client, made on first use and shared by every task; it joins no group.
/// </summary>
internal sealed class ChangelogWatermarks(Lazy<IConsumer<byte[], byte[]>> client) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static ChangelogWatermarks Create(IConfiguration configuration, string applicationId)
    {
        var config = new ConsumerConfig(KafkaConnection.ReadClientProperties(configuration, KafkaConnection.DefaultName, "Consumer"))
        {
            // Required by the client, never used: this consumer only asks for watermarks.
            GroupId = applicationId + "-watermarks",
            ClientId = applicationId + "-watermarks",
        };
        return new ChangelogWatermarks(new Lazy<IConsumer<byte[], byte[]>>(() => new ConsumerBuilder<byte[], byte[]>(config).Build()));
    }

    public WatermarkOffsets Query(TopicPartition changelog) => client.Value.QueryWatermarkOffsets(changelog, Timeout);

    public void Dispose()
    {
        if (client.IsValueCreated)
        {
            client.Value.Dispose();
        }
    }
}
