using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>An event the processor accepted: parsed and within the event rules.</summary>
internal readonly record struct AcceptedEvent(string Id, string Key, double Value, long TimestampMs);

/// <summary>Why a record on the events topic was dead-lettered: a stable code and a readable detail.</summary>
internal sealed record Rejection(string Reason, string Detail);

/// <summary>
/// Reads a record from the events topic and applies the event rules. Anyone can write to the
/// topic, so nothing is assumed: a record that is not a well-formed <c>PipelineEvent</c>
/// (<c>PipelineJson</c>: camelCase, no unknown or missing members) or breaks a rule is rejected
/// with a reason, never thrown.
/// </summary>
internal static class EventReader
{
    /// <summary>Larger magnitudes are rejected so that no sum of events can overflow to infinity.</summary>
    public const double MaxMagnitude = 1e300;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryRead(byte[]? key, byte[]? value, out AcceptedEvent accepted, out Rejection? rejection)
    {
        accepted = default;
        rejection = null;
        if (key is null || key.Length == 0)
        {
            rejection = new Rejection("missing-key", "The record has no key; events are keyed by their event key.");
            return false;
        }

        string recordKey;
        try
        {
            recordKey = StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException)
        {
            rejection = new Rejection("invalid-key", "The record key is not UTF-8 text.");
            return false;
        }

        if (value is null || value.Length == 0)
        {
            rejection = new Rejection("missing-value", "The record has no value.");
            return false;
        }

        EventDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(value, EventDocumentJson.Default.EventDocument);
        }
        catch (JsonException exception)
        {
            rejection = new Rejection("invalid-json", "The value is not a PipelineEvent: " + exception.Message);
            return false;
        }

        if (document is null)
        {
            rejection = new Rejection("invalid-json", "The value is JSON null.");
            return false;
        }

        if (string.IsNullOrWhiteSpace(document.Id))
        {
            rejection = new Rejection("missing-id", "The event has no id.");
            return false;
        }

        if (string.IsNullOrEmpty(document.Key))
        {
            rejection = new Rejection("missing-event-key", "The event has no key.");
            return false;
        }

        if (!string.Equals(document.Key, recordKey, StringComparison.Ordinal))
        {
            // All of a key's aggregates live on the partition its key hashes to; an event whose
            // record key differs would be counted on another partition's copy of them.
            rejection = new Rejection("key-mismatch", "The record key differs from the event key.");
            return false;
        }

        if (!double.IsFinite(document.Value))
        {
            rejection = new Rejection("non-finite-value", "The event value is not a finite number.");
            return false;
        }

        if (Math.Abs(document.Value) > MaxMagnitude)
        {
            rejection = new Rejection("value-out-of-range", $"The event value's magnitude exceeds {MaxMagnitude:G}.");
            return false;
        }

        if (document.Timestamp < DateTimeOffset.UnixEpoch)
        {
            rejection = new Rejection("invalid-timestamp", "The event timestamp is before 1970-01-01T00:00:00Z.");
            return false;
        }

        accepted = new AcceptedEvent(document.Id, document.Key, document.Value, document.Timestamp.ToUnixTimeMilliseconds());
        return true;
    }
}

/// <summary>The JSON shape of <c>PipelineEvent</c>, with every member required.</summary>
internal sealed class EventDocument
{
    [JsonRequired]
    public string? Id { get; init; }

    [JsonRequired]
    public string? Key { get; init; }

    [JsonRequired]
    public double Value { get; init; }

    [JsonRequired]
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>Source-generated reader with the options of <c>PipelineJson</c>.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(EventDocument))]
internal sealed partial class EventDocumentJson : JsonSerializerContext;
