using System.Text;
using System.Text.Json;

namespace Pipeline.Contracts;

/// <summary>
/// The sink announces every row it changes on a PostgreSQL notification channel, in the
/// transaction that changes it, so a listener (the API's change stream) hears of a change exactly
/// when it becomes visible. Each payload is a JSON array of <see cref="AggregateRecord"/>s in their
/// one JSON shape (<see cref="PipelineJson"/>).
/// </summary>
public static class AggregateChangeNotifications
{
    /// <summary>The PostgreSQL notification channel (<c>LISTEN pipeline_aggregate_changes</c>).</summary>
    public const string Channel = "pipeline_aggregate_changes";

    /// <summary>PostgreSQL refuses payloads of 8000 bytes or more.</summary>
    public const int MaxPayloadBytes = 7900;

    // Not HTML: only what JSON itself requires is escaped, which keeps payloads small.
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
            JsonSerializer.Serialize(writer, change, PipelineJsonContext.Default.AggregateRecord);
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

    /// <summary>Reads one payload, throwing <see cref="JsonException"/> when it is not an array of aggregate records.</summary>
    public static AggregateRecord[] Read(string payload) => PipelineJson.Deserialize<AggregateRecord[]>(Encoding.UTF8.GetBytes(payload));
}
