using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Contracts;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>An event the processor accepted: parsed and within the event rules.</summary>
internal readonly record struct AcceptedEvent(string Id, string Key, double Value, long TimestampMs);

/// <summary>Why a record on the events topic was dead-lettered: a stable code and a readable detail.</summary>
internal sealed record Rejection(string Reason, string Detail);

/// <summary>
/// Reads a record from the events topic and applies the event rules. Anyone can write to the
/// topic, so nothing is assumed: a record that is not a well-formed <c>PipelineEvent</c>
/// (<c>PipelineJson</c>: camelCase, no unknown or missing members) or breaks a rule is rejected
/// with a reason, never thrown. The rules for id, key and value are the API's own
/// (<see cref="PipelineEventRules"/>), and a breach is dead-lettered with the code the API answers;
/// the other reasons are about the record itself, which the API always writes well.
/// </summary>
internal static class EventReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryRead(byte[]? key, byte[]? value, out AcceptedEvent accepted, out Rejection? rejection)
    {
        accepted = default;
        rejection = null;
        if (key is null)
        {
            rejection = new Rejection("missing-key", "The record has no key; events are keyed by their event key.");
            return false;
        }

        if (key.Length == 0)
        {
            // The record key is the event key: an empty one breaks the rule the API refuses "" by.
            var empty = PipelineEventRules.CheckKey("")!;
            rejection = new Rejection(empty.Code, empty.Message);
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
        catch (InvalidUnicodeTextException exception)
        {
            rejection = new Rejection(EventRuleCodes.InvalidUnicode, $"The event's {exception.Path} is not valid Unicode text.");
            return false;
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

        if (document.Id is null)
        {
            rejection = new Rejection("missing-id", "The event has no id.");
            return false;
        }

        if (document.Key is null)
        {
            rejection = new Rejection("missing-event-key", "The event has no key.");
            return false;
        }

        if ((PipelineEventRules.CheckId(document.Id) ?? PipelineEventRules.CheckKey(document.Key)) is { } breach)
        {
            rejection = new Rejection(breach.Code, breach.Message);
            return false;
        }

        if (!string.Equals(document.Key, recordKey, StringComparison.Ordinal))
        {
            // All of a key's aggregates live on the partition its key hashes to; an event whose
            // record key differs would be counted on another partition's copy of them.
            rejection = new Rejection("key-mismatch", "The record key differs from the event key.");
            return false;
        }

        if (PipelineEventRules.CheckValue(document.Value) is { } valueBreach)
        {
            rejection = new Rejection(valueBreach.Code, valueBreach.Message);
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
    [JsonConverter(typeof(UnicodeTextConverter))]
    public string? Id { get; init; }

    [JsonRequired]
    [JsonConverter(typeof(UnicodeTextConverter))]
    public string? Key { get; init; }

    [JsonRequired]
    public double Value { get; init; }

    [JsonRequired]
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>
/// Reads a JSON string as the API does, telling text that is not Unicode (an unpaired surrogate
/// escape, invalid UTF-8) apart from any other fault, so that it is dead-lettered as
/// <c>invalid-unicode</c>, the code the API answers, rather than as <c>invalid-json</c>.
/// </summary>
internal sealed class UnicodeTextConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a string, not {reader.TokenType}.");
        }

        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException exception)
        {
            throw new InvalidUnicodeTextException(exception);
        }
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>A JSON string that is not Unicode text; the serializer adds the path of the member.</summary>
internal sealed class InvalidUnicodeTextException(Exception inner) : JsonException("The string is not valid Unicode text.", inner);

/// <summary>Source-generated reader with the options of <c>PipelineJson</c>.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(EventDocument))]
internal sealed partial class EventDocumentJson : JsonSerializerContext;
