using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Pipeline.Contracts;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// How every service writes a dead letter's headers: the source record's own headers first (its
/// trace context included), then <see cref="DeadLetterHeaders"/> saying why and where it came from.
/// </summary>
public static class DeadLetterRecords
{
    /// <summary>The longest <see cref="DeadLetterHeaders.Detail"/> written; longer details are cut.</summary>
    public const int MaxDetailLength = 1000;

    /// <summary>The headers of the dead letter of the record at <paramref name="source"/>.</summary>
    public static Headers Headers(Headers? sourceHeaders, TopicPartitionOffset source, string service, string reason, string detail)
    {
        var headers = new Headers();
        foreach (var header in sourceHeaders ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        Add(headers, DeadLetterHeaders.Reason, reason);
        Add(headers, DeadLetterHeaders.Detail, detail.Length <= MaxDetailLength ? detail : detail[..MaxDetailLength]);
        Add(headers, DeadLetterHeaders.Service, service);
        Add(headers, DeadLetterHeaders.SourceTopic, source.Topic);
        Add(headers, DeadLetterHeaders.SourcePartition, source.Partition.Value.ToString(CultureInfo.InvariantCulture));
        Add(headers, DeadLetterHeaders.SourceOffset, source.Offset.Value.ToString(CultureInfo.InvariantCulture));
        return headers;
    }

    private static void Add(Headers headers, string key, string value) => headers.Add(key, Encoding.UTF8.GetBytes(value));
}
