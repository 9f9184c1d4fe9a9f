using System.Diagnostics.Metrics;
using System.Globalization;
using Confluent.Kafka;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Consumer lag, the one way every service measures it: the records of a partition that a group
/// has still to handle, from the next offset it will handle (its position, or its committed
/// offset) to the high watermark. A group with no position yet starts at the log start, and what
/// the broker no longer keeps is not counted. Published with OpenTelemetry's messaging tags.
/// </summary>
public static class ConsumerLag
{
    /// <summary>Records between <paramref name="next"/> (or the log start when it is not an offset) and the high watermark.</summary>
    public static long Of(WatermarkOffsets watermarks, Offset next)
    {
        var logStart = watermarks.Low.IsSpecial ? 0 : watermarks.Low.Value;
        var from = next.IsSpecial ? logStart : Math.Max(next.Value, logStart);
        return watermarks.High.IsSpecial ? 0 : Math.Max(0, watermarks.High.Value - from);
    }

    /// <summary>One partition's lag as a measurement of a lag gauge.</summary>
    public static Measurement<long> Measurement(TopicPartition partition, string? group, long lag) =>
        new(lag,
            new KeyValuePair<string, object?>("messaging.destination.name", partition.Topic),
            new KeyValuePair<string, object?>("messaging.destination.partition.id", partition.Partition.Value.ToString(CultureInfo.InvariantCulture)),
            new KeyValuePair<string, object?>("messaging.consumer.group.name", group));
}
