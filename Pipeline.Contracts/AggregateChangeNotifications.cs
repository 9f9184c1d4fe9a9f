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
    /// Each record's JSON and the payload it goes in, for a writer that learns only inside the
    /// database which of them changed (the sink announces in the statement that writes). The
    /// records are packed in order, and a payload's items, joined as a JSON array, stay under
    /// <see cref="MaxPayloadBytes"/>; so does any subset of them. One item always fits: keys are
    /// at most 1 KiB, so even fully escaped an item stays under 7 KB.
    /// </summary>
    public static PackedChanges Pack(IReadOnlyList<AggregateRecord> changes)
    {
        var items = new string[changes.Count];
        var payloads = new int[changes.Count];
        var payload = 0;
        var payloadBytes = 1; // '['
        using var item = new MemoryStream(512);
        using var writer = new Utf8JsonWriter(item, WriterOptions);
        for (var i = 0; i < changes.Count; i++)
        {
            item.SetLength(0);
            writer.Reset(item);
            JsonSerializer.Serialize(writer, changes[i], PipelineJsonContext.Default.AggregateRecord);
            writer.Flush();
            var itemBytes = (int)item.Length;
            if (payloadBytes > 1 && payloadBytes + itemBytes + 1 > MaxPayloadBytes)
            {
                payload++;
                payloadBytes = 1;
            }

            items[i] = Encoding.UTF8.GetString(item.GetBuffer(), 0, itemBytes);
            payloads[i] = payload;
            payloadBytes += itemBytes + 1; // the item and the ',' or ']' after it
        }

        return new PackedChanges(items, payloads);
    }

    /// <summary>Reads one payload, throwing <see cref="JsonException"/> when it is not an array of aggregate records.</summary>
    public static AggregateRecord[] Read(string payload) => PipelineJson.Deserialize<AggregateRecord[]>(Encoding.UTF8.GetBytes(payload));
}

/// <summary>
/// Records as JSON (<see cref="Items"/>) with the notification payload each goes in
/// (<see cref="Payloads"/>, numbered from 0): a payload is <c>[</c>, its items joined by
/// <c>,</c>, and <c>]</c>.
/// </summary>
public sealed record PackedChanges(string[] Items, int[] Payloads);
