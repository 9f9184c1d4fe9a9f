using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Pipeline.Contracts;

/// <summary>
/// The sink announces every row it changes on a PostgreSQL notification channel, in the
/// transaction that changes it, so a listener (the API's change stream) hears of a change exactly
/// when it becomes visible. Each payload is a JSON array of changes, each change an array of
/// the record's fields in a fixed order with its times in microseconds since the Unix epoch
/// (PostgreSQL's own precision, so an announced figure is the stored one):
/// <c>[key, window, windowStart, windowEnd|null, count, sum, min, max, mean, final, version, updatedAt]</c>.
/// Positions instead of names halve what PostgreSQL copies into its notification queue per
/// change; the channel is internal, and the API turns each change back into the named
/// <see cref="AggregateRecord"/> shape it streams. A change announced as that named JSON (by a
/// sink older than this format) is read too, so the API can be upgraded before the sink.
/// </summary>
public static class AggregateChangeNotifications
{
    /// <summary>The PostgreSQL notification channel (<c>LISTEN pipeline_aggregate_changes</c>).</summary>
    public const string Channel = "pipeline_aggregate_changes";

    /// <summary>PostgreSQL refuses payloads of 8000 bytes or more.</summary>
    public const int MaxPayloadBytes = 7900;

    private const int Fields = 12;

    // Not HTML: only what JSON itself requires is escaped, which keeps payloads small.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The changes as JSON arrays of at most <see cref="MaxPayloadBytes"/> bytes each. One item
    /// always fits: keys are at most 1 KiB, so even fully escaped an item stays under 7 KB.
    /// </summary>
    public static string[] Payloads(IReadOnlyList<AggregateRecord> changes)
    {
        var payloads = new List<string>();
        var chunk = new ArrayBufferWriter<byte>(MaxPayloadBytes + 1);
        var item = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(item, WriterOptions);
        foreach (var change in changes)
        {
            item.ResetWrittenCount();
            writer.Reset(item);
            Write(writer, change);
            writer.Flush();
            if (chunk.WrittenCount > 0 && chunk.WrittenCount + item.WrittenCount + 2 > MaxPayloadBytes) // a comma, the item, the closing bracket
            {
                payloads.Add(Close(chunk));
            }

            chunk.Write(chunk.WrittenCount == 0 ? "["u8 : ","u8);
            chunk.Write(item.WrittenSpan);
        }

        if (chunk.WrittenCount > 0)
        {
            payloads.Add(Close(chunk));
        }

        return [.. payloads];
    }

    /// <summary>Reads one payload, throwing <see cref="JsonException"/> when it is not an array of changes.</summary>
    public static AggregateRecord[] Read(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new JsonException("A change notification is a JSON array of changes.");
            }

            var changes = new AggregateRecord[document.RootElement.GetArrayLength()];
            var index = 0;
            foreach (var change in document.RootElement.EnumerateArray())
            {
                changes[index++] = ReadChange(change);
            }

            return changes;
        }
        catch (Exception exception) when (exception is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            throw new JsonException($"A change in the notification is not one: {exception.Message}", exception);
        }
    }

    private static void Write(Utf8JsonWriter writer, AggregateRecord change)
    {
        writer.WriteStartArray();
        writer.WriteStringValue(change.Key);
        writer.WriteStringValue(change.Window);
        writer.WriteNumberValue(Microseconds(change.WindowStart));
        if (change.WindowEnd is { } end)
        {
            writer.WriteNumberValue(Microseconds(end));
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteNumberValue(change.Count);
        writer.WriteNumberValue(change.Sum);
        writer.WriteNumberValue(change.Min);
        writer.WriteNumberValue(change.Max);
        writer.WriteNumberValue(change.Mean);
        writer.WriteBooleanValue(change.Final);
        writer.WriteNumberValue(change.Version);
        writer.WriteNumberValue(Microseconds(change.UpdatedAt));
        writer.WriteEndArray();
    }

    private static AggregateRecord ReadChange(JsonElement change)
    {
        if (change.ValueKind == JsonValueKind.Object)
        {
            // A sink from before 2026-12-02 announced the named JSON: an API upgraded first still reads it.
            return change.Deserialize(PipelineJsonContext.Default.AggregateRecord) ?? throw new JsonException("A change cannot be null.");
        }

        if (change.ValueKind != JsonValueKind.Array || change.GetArrayLength() != Fields)
        {
            throw new JsonException($"A change is an array of {Fields} fields.");
        }

        return new AggregateRecord(
            change[0].GetString() ?? throw new JsonException("A change has a key."),
            change[1].GetString() ?? throw new JsonException("A change has a window."),
            Time(change[2]),
            change[3].ValueKind == JsonValueKind.Null ? null : Time(change[3]),
            change[4].GetInt64(),
            change[5].GetDouble(),
            change[6].GetDouble(),
            change[7].GetDouble(),
            change[8].GetDouble(),
            change[9].GetBoolean(),
            change[10].GetInt64(),
            Time(change[11]));
    }

    private static string Close(ArrayBufferWriter<byte> chunk)
    {
        chunk.Write("]"u8);
        var payload = Encoding.UTF8.GetString(chunk.WrittenSpan);
        chunk.ResetWrittenCount();
        return payload;
    }

    private static long Microseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    private static DateTimeOffset Time(JsonElement microseconds) =>
        DateTimeOffset.UnixEpoch.AddTicks(checked(microseconds.GetInt64() * TimeSpan.TicksPerMicrosecond));
}
