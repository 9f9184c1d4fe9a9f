using System.Text;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>An event the processor accepted: parsed and within the event rules.</summary>
internal readonly record struct AcceptedEvent(string Id, string Key, double Value, long TimestampMs);

/// <summary>Why a record on the events topic was dead-lettered: a stable code and a readable detail.</summary>
internal sealed record Rejection(string Reason, string Detail);

/// <summary>
/// Reads a record from the events topic and applies the event rules. Anyone can write to the
/// topic, so nothing is assumed: a record that is not a well-formed <c>PipelineEvent</c> in the
/// pipeline's record format (<see cref="PipelineRecordFormat"/>: strict JSON, or Avro of a schema the
/// registry knows) or breaks a rule is rejected
/// with a reason, never thrown. The rules for id, key and value are the API's own
/// (<see cref="PipelineEventRules"/>), and a breach is dead-lettered with the code the API answers;
/// the other reasons are about the record itself, which the API always writes well.
/// </summary>
internal static class EventReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryRead(PipelineRecordFormat format, byte[]? key, byte[]? value, out AcceptedEvent accepted, out Rejection? rejection)
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

        var read = format.ReadEvent(value);
        if (read.Message is not { } document)
        {
            rejection = new Rejection(read.Reason!, read.Detail!);
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
