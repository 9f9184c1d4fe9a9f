using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>
/// Sends a record the sink cannot store to the dead-letter topic: the original key, value and
/// headers, plus headers saying why and where it came from. Returns once the broker has it, so
/// that the record's offset can be committed.
/// </summary>
internal sealed class DeadLetterPublisher(RenewingKafkaProducer<byte[]?, byte[]?> producers, IOptions<SinkOptions> options, SinkMetrics metrics)
{
    public const string ServiceName = "pipeline-sink";

    public async Task PublishAsync(ConsumeResult<byte[]?, byte[]?> source, string reason, string detail, CancellationToken cancellationToken)
    {
        var headers = DeadLetterRecords.Headers(source.Message.Headers, source.TopicPartitionOffset, ServiceName, reason, detail);

        await producers.Current.ProduceTracedAsync(
            options.Value.DeadLetterTopic,
            new Message<byte[]?, byte[]?> { Key = source.Message.Key, Value = source.Message.Value, Headers = headers },
            cancellationToken);
        metrics.DeadLetters.Add(1, new KeyValuePair<string, object?>("dead_letter.reason", reason));
    }
}
