using System.Text;
using System.Text.Json;
using Pipeline.Contracts;

namespace Pipeline.Sink;

/// <summary>
/// The sink announces every row it changes on a PostgreSQL notification channel, in the
/// transaction that changes it, so a listener hears of a change exactly when it becomes
/// visible. Each payload is a JSON array of changed aggregates, each an object with key,
/// window ("all" for totals), windowStart, windowEnd, count, sum, min, max, mean, final,
/// version and updatedAt. Pipeline.Api listens on the same channel name.
/// </summary>
internal static class AggregateChangeNotifications
{
    public const string Channel = "pipeline_aggregate_changes";

    /// <summary>PostgreSQL refuses payloads of 8000 bytes or more.</summary>
    public const int MaxPayloadBytes = 7900;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The changes as JSON arrays of at most <see cref="MaxPayloadBytes"/> bytes each. One item
    /// always fits: keys are at most 1 KiB, so even fully escaped an item stays under 7 KB.
    /// </summary>
    public static string[] Payloads(IReadOnlyList<AggregateRecord> changes)
    {
        var payloads = new List<string>();
        var chunk = new StringBuilder(MaxPayloadBytes);
        var chunkBytes = 0;
        using var item = new MemoryStream(512);
        using var writer = new Utf8JsonWriter(item, WriterOptions);
        foreach (var change in changes)
        {
            item.SetLength(0);
            writer.Reset(item);
            Write(writer, change);
            writer.Flush();
            var itemBytes = (int)item.Length;
            if (chunkBytes > 0 && chunkBytes + itemBytes + 2 > MaxPayloadBytes)
            {
                payloads.Add(chunk.Append(']').ToString());
                chunk.Clear();
                chunkBytes = 0;
            }

            chunk.Append(chunkBytes == 0 ? '[' : ',');
            chunk.Append(Encoding.UTF8.GetString(item.GetBuffer(), 0, itemBytes));
            chunkBytes += itemBytes + 1;
        }

        if (chunkBytes > 0)
        {
            payloads.Add(chunk.Append(']').ToString());
        }

        return [.. payloads];
    }

    private static void Write(Utf8JsonWriter writer, AggregateRecord change)
    {
        writer.WriteStartObject();
        writer.WriteString("key", change.Key);
        writer.WriteString("window", change.Window);
        writer.WriteString("windowStart", change.WindowStart);
        if (change.WindowEnd is { } end)
        {
            writer.WriteString("windowEnd", end);
        }
        else
        {
            writer.WriteNull("windowEnd");
        }

        writer.WriteNumber("count", change.Count);
        writer.WriteNumber("sum", change.Sum);
        writer.WriteNumber("min", change.Min);
        writer.WriteNumber("max", change.Max);
        writer.WriteNumber("mean", change.Mean);
        writer.WriteBoolean("final", change.Final);
        writer.WriteNumber("version", change.Version);
        writer.WriteString("updatedAt", change.UpdatedAt);
        writer.WriteEndObject();
    }
}
