using System.Text;
using System.Text.Json;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Events;

/// <summary>Where one field of one event is being read, and where its errors go.</summary>
internal readonly record struct FieldContext(string Path, string Name, EventRules Rules, EventErrors Errors);

/// <summary>The fields of an event read so far.</summary>
internal struct EventDraft
{
    public string? Id;
    public string? Key;
    public double? Value;
    public DateTimeOffset? Timestamp;
}

/// <summary>Reads a field's token, already known to be of the field's type, into the draft; false when it breaks a rule (reported).</summary>
internal delegate bool FieldReader(ref Utf8JsonReader reader, in FieldContext context, ref EventDraft draft);

/// <summary>
/// One property of an event: its name, the JSON token it must be, the code when it is another,
/// whether it is required (the code when absent or null), and how its value is read and checked.
/// </summary>
internal sealed record EventField(
    string Name, JsonTokenType Token, string WrongTypeCode, string WrongTypeMessage, string? RequiredCode, FieldReader Read)
{
    public byte[] Utf8Name { get; } = Encoding.UTF8.GetBytes(Name);
}

/// <summary>
/// The four properties of an event, read by <see cref="EventParser"/> from this one table. The
/// rules for id, key and value are <see cref="PipelineEventRules"/>, which the stream processor
/// applies too; the timestamp's are the request's (<see cref="EventRules"/>).
/// </summary>
internal static class EventFields
{
    public static EventField[] All { get; } =
    [
        new("id", JsonTokenType.String, ErrorCodes.IdNotAString, "'id' must be a string.", RequiredCode: null, ReadId),
        new("key", JsonTokenType.String, ErrorCodes.KeyNotAString, "'key' must be a string.", ErrorCodes.KeyRequired, ReadKey),
        new("value", JsonTokenType.Number, ErrorCodes.ValueNotANumber,
            "'value' must be a JSON number (not a string, boolean, object or array).", ErrorCodes.ValueRequired, ReadValue),
        new("timestamp", JsonTokenType.String, ErrorCodes.TimestampNotAString, "'timestamp' must be a string.", RequiredCode: null, ReadTimestamp),
    ];

    /// <summary>The index in <see cref="All"/> of the property name the reader is on (case-sensitive), or -1.</summary>
    public static int Find(ref Utf8JsonReader reader)
    {
        for (var f = 0; f < All.Length; f++)
        {
            if (reader.ValueTextEquals(All[f].Utf8Name))
            {
                return f;
            }
        }

        return -1;
    }

    private static bool ReadId(ref Utf8JsonReader reader, in FieldContext context, ref EventDraft draft) =>
        ReadText(ref reader, context, PipelineEventRules.CheckId, out draft.Id);

    private static bool ReadKey(ref Utf8JsonReader reader, in FieldContext context, ref EventDraft draft) =>
        ReadText(ref reader, context, PipelineEventRules.CheckKey, out draft.Key);

    private static bool ReadValue(ref Utf8JsonReader reader, in FieldContext context, ref EventDraft draft)
    {
        // TryGetDouble refuses a number beyond double's range: as a double it would be infinite.
        var number = reader.TryGetDouble(out var parsed) ? parsed : double.PositiveInfinity;
        if (PipelineEventRules.CheckValue(number) is { } breach)
        {
            context.Errors.Add(context.Path, breach.Code, breach.Message);
            return false;
        }

        draft.Value = number;
        return true;
    }

    private static bool ReadTimestamp(ref Utf8JsonReader reader, in FieldContext context, ref EventDraft draft)
    {
        if (!EventParser.TryGetText(ref reader, context, out var text))
        {
            return false;
        }

        var rules = context.Rules;
        if (!Rfc3339.TryParse(text, out var parsed))
        {
            context.Errors.Add(context.Path, ErrorCodes.TimestampInvalidFormat,
                "'timestamp' must be an RFC 3339 date-time with an offset, e.g. 2025-01-31T12:00:00Z or 2025-01-31T13:00:00.5+01:00.");
            return false;
        }

        if (parsed < rules.ReceivedAt - rules.MaxEventAge)
        {
            context.Errors.Add(context.Path, ErrorCodes.TimestampTooOld,
                $"'timestamp' is older than the oldest accepted ({rules.MaxEventAge.TotalDays:0.##} days before receipt).");
            return false;
        }

        if (parsed > rules.ReceivedAt + rules.MaxClockSkew)
        {
            context.Errors.Add(context.Path, ErrorCodes.TimestampInFuture,
                $"'timestamp' is more than {rules.MaxClockSkew.TotalSeconds:0.##} s in the future.");
            return false;
        }

        draft.Timestamp = parsed;
        return true;
    }

    private static bool ReadText(ref Utf8JsonReader reader, in FieldContext context, Func<string, EventRuleBreach?> rule, out string? text)
    {
        text = null;
        if (!EventParser.TryGetText(ref reader, context, out var read))
        {
            return false;
        }

        if (rule(read) is { } breach)
        {
            context.Errors.Add(context.Path, breach.Code, breach.Message);
            return false;
        }

        text = read;
        return true;
    }
}
