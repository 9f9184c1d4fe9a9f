using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>
/// Sends a record the sink cannot store to the dead-letter topic: the original key, value and
/// headers, plus headers saying why and where it came from. Returns once the broker has it, so
/// that the record's offset can be committed.
/// </summary>
internal sealed class DeadLetterPublisher(RenewingKafkaProducer<byte[]?, byte[]?> producers, IOptions<SinkOptions> options)
{
    public const string ServiceName = "pipeline-sink";

    private const int MaxDetailLength = 1000;

    public async Task PublishAsync(ConsumeResult<byte[]?, byte[]?> source, string reason, string detail, CancellationToken cancellationToken)
    {
        var headers = new Headers();
        foreach (var header in source.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add(DeadLetterHeaders.Reason, Encoding.UTF8.GetBytes(reason));
        headers.Add(DeadLetterHeaders.Detail, Encoding.UTF8.GetBytes(detail.Length <= MaxDetailLength ? detail : detail[..MaxDetailLength]));
        headers.Add(DeadLetterHeaders.Service, Encoding.UTF8.GetBytes(ServiceName));
        headers.Add(DeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes(source.Topic));
        headers.Add(DeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(source.Offset.Value.ToString(CultureInfo.InvariantCulture)));

        await producers.Current.ProduceTracedAsync(
            options.Value.DeadLetterTopic,
            new Message<byte[]?, byte[]?> { Key = source.Message.Key, Value = source.Message.Value, Headers = headers },
            cancellationToken);
        SinkTelemetry.DeadLetters.Add(1, new KeyValuePair<string, object?>("dead_letter.reason", reason));
    }
}
