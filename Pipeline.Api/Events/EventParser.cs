using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Events;

/// <summary>
/// Reads events strictly, by hand, so that every fault gets a field and a stable code: exactly the
/// properties id, key, value and timestamp (case-sensitive), each at most once, each of its type.
/// Nothing is coerced: "21.5" is not a number, null is not a key. Syntax errors, invalid UTF-8 and
/// nesting deeper than 64 make the whole body <see cref="ParseFailure.MalformedJson"/>. The rules for
/// id, key and value are <see cref="PipelineEventRules"/>, which the stream processor applies too.
/// </summary>
internal static class EventParser
{
    private const int MaxEchoedNameLength = 64;

    // JSON's insignificant whitespace: space, tab, line feed, carriage return.
    private static ReadOnlySpan<byte> JsonWhitespace => " \t\n\r"u8;

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 64,
    };

    /// <summary>One event: a JSON object.</summary>
    public static ParsedEvents ParseSingle(ReadOnlySpan<byte> body, in EventRules rules)
    {
        if (Start(body, out var reader) is { } empty)
        {
            return empty;
        }

        var result = new ParsedEvents();
        try
        {
            reader.Read();
            Add(result, ReadEvent(ref reader, index: -1, rules, result.Errors));
            EnsureEnd(ref reader);
            result.EventCount = 1;
        }
        catch (JsonException exception)
        {
            return Malformed(result, "The body is not valid JSON: " + exception.Message);
        }

        return Finish(result);
    }

    /// <summary>A batch as one JSON array of events.</summary>
    public static ParsedEvents ParseArray(ReadOnlySpan<byte> body, in EventRules rules)
    {
        if (Start(body, out var reader) is { } empty)
        {
            return empty;
        }

        var result = new ParsedEvents();
        try
        {
            reader.Read();

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                result.Errors.Add("$", ErrorCodes.BatchNotAnArray, "A batch sent as application/json must be a JSON array of events.");
                reader.Skip();
                EnsureEnd(ref reader);
                return Finish(result);
            }

            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (index == rules.MaxBatchSize)
                {
                    result.EventCount = index + 1;
                    result.Failure = ParseFailure.BatchTooLarge;
                    return result;
                }

                Add(result, ReadEvent(ref reader, index, rules, result.Errors));
                index++;
            }

            EnsureEnd(ref reader);
            result.EventCount = index;
        }
        catch (JsonException exception)
        {
            return Malformed(result, "The body is not valid JSON: " + exception.Message);
        }

        if (result.EventCount == 0)
        {
            result.Failure = ParseFailure.EmptyBatch;
            return result;
        }

        return Finish(result);
    }

    /// <summary>A batch as newline-delimited JSON: one event per line; blank lines are skipped.</summary>
    public static ParsedEvents ParseNdjson(ReadOnlySpan<byte> body, in EventRules rules)
    {
        var result = new ParsedEvents();
        var index = 0;
        var lineNumber = 0;
        var remaining = body;
        while (!remaining.IsEmpty)
        {
            var newline = remaining.IndexOf((byte)'\n');
            var line = newline < 0 ? remaining : remaining[..newline];
            remaining = newline < 0 ? [] : remaining[(newline + 1)..];
            lineNumber++;
            if (line.Trim(JsonWhitespace).IsEmpty)
            {
                continue;
            }

            if (index == rules.MaxBatchSize)
            {
                result.EventCount = index + 1;
                result.Failure = ParseFailure.BatchTooLarge;
                return result;
            }

            try
            {
                var reader = new Utf8JsonReader(line, ReaderOptions);
                reader.Read();
                Add(result, ReadEvent(ref reader, index, rules, result.Errors));
                EnsureEnd(ref reader);
            }
            catch (JsonException exception)
            {
                return Malformed(result, string.Create(CultureInfo.InvariantCulture,
                    $"Line {lineNumber} (event [{index}]) is not valid JSON: {exception.Message}"));
            }

            index++;
        }

        result.EventCount = index;
        if (index == 0)
        {
            result.Failure = ParseFailure.EmptyBody;
            return result;
        }

        return Finish(result);
    }

    private static PipelineEvent? ReadEvent(ref Utf8JsonReader reader, int index, in EventRules rules, EventErrors errors)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            errors.Add(Path(index, null), ErrorCodes.EventNotAnObject, "An event must be a JSON object.");
            reader.Skip();
            return null;
        }

        var draft = new EventDraft();
        var seen = new bool[EventFields.All.Length];
        var valid = true;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var found = EventFields.Find(ref reader);
            var name = found < 0 ? EchoableName(ref reader) : null;
            reader.Read();

            if (found < 0)
            {
                errors.Add(Path(index, name), ErrorCodes.UnknownProperty,
                    $"Unknown property '{name}': an event has only id, key, value and timestamp (names are case-sensitive).");
                reader.Skip();
                valid = false;
                continue;
            }

            var field = EventFields.All[found];
            if (seen[found])
            {
                errors.Add(Path(index, field.Name), ErrorCodes.DuplicateProperty, $"'{field.Name}' appears more than once.");
                reader.Skip();
                valid = false;
                continue;
            }

            seen[found] = true;
            valid &= ReadField(ref reader, field, new FieldContext(Path(index, field.Name), field.Name, rules, errors), ref draft);
        }

        // A null key or value was reported where it was read; here only absent ones.
        for (var f = 0; f < EventFields.All.Length; f++)
        {
            if (!seen[f] && EventFields.All[f].RequiredCode is { } required)
            {
                errors.Add(Path(index, EventFields.All[f].Name), required, $"'{EventFields.All[f].Name}' is required.");
                valid = false;
            }
        }

        if (!valid || draft.Key is null || draft.Value is null)
        {
            return null;
        }

        return new PipelineEvent(draft.Id ?? Guid.CreateVersion7().ToString(), draft.Key, draft.Value.Value, draft.Timestamp ?? rules.ReceivedAt);
    }

    // What every field shares: null is absent (or, for a required field, an error), a token of
    // another type is an error with the field's code, and the rest is the field's own reader.
    private static bool ReadField(ref Utf8JsonReader reader, EventField field, in FieldContext context, ref EventDraft draft)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (field.RequiredCode is { } required)
            {
                context.Errors.Add(context.Path, required, $"'{field.Name}' is required and must not be null.");
                return false;
            }

            return true;
        }

        if (reader.TokenType != field.Token)
        {
            context.Errors.Add(context.Path, field.WrongTypeCode, field.WrongTypeMessage);
            reader.Skip();
            return false;
        }

        return field.Read(ref reader, context, ref draft);
    }

    // GetString unescapes and transcodes; it throws on invalid UTF-8 or a lone surrogate escape.
    internal static bool TryGetText(ref Utf8JsonReader reader, in FieldContext context, out string text)
    {
        try
        {
            text = reader.GetString()!;
            if (!PipelineEventRules.HasUnpairedSurrogate(text))
            {
                return true;
            }
        }
        catch (InvalidOperationException)
        {
            text = "";
        }

        context.Errors.Add(context.Path, ErrorCodes.InvalidUnicode, $"'{context.Name}' is not valid Unicode text.");
        return false;
    }

    private static string EchoableName(ref Utf8JsonReader reader)
    {
        string name;
        try
        {
            name = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return "(invalid UTF-8)";
        }

        return name.Length <= MaxEchoedNameLength ? name : name[..MaxEchoedNameLength] + "…";
    }

    private static string Path(int index, string? field) => (index, field) switch
    {
        (< 0, null) => "$",
        (< 0, _) => field,
        (_, null) => string.Create(CultureInfo.InvariantCulture, $"[{index}]"),
        _ => string.Create(CultureInfo.InvariantCulture, $"[{index}].{field}"),
    };

    // A body of nothing but whitespace is empty (400 empty-body); any other is read as one JSON document.
    private static ParsedEvents? Start(ReadOnlySpan<byte> body, out Utf8JsonReader reader)
    {
        reader = new Utf8JsonReader(body, ReaderOptions);
        return body.Trim(JsonWhitespace).IsEmpty ? new ParsedEvents { Failure = ParseFailure.EmptyBody } : null;
    }

    // Anything but whitespace after the one top-level value makes Read throw.
    private static void EnsureEnd(ref Utf8JsonReader reader) => reader.Read();

    private static void Add(ParsedEvents result, PipelineEvent? pipelineEvent)
    {
        if (pipelineEvent is not null)
        {
            result.Events.Add(pipelineEvent);
        }
    }

    private static ParsedEvents Malformed(ParsedEvents result, string detail)
    {
        result.Failure = ParseFailure.MalformedJson;
        result.Detail = detail;
        result.Events.Clear();
        return result;
    }

    private static ParsedEvents Finish(ParsedEvents result)
    {
        if (result.Errors.Count > 0)
        {
            result.Failure = ParseFailure.Invalid;
            result.Events.Clear();
        }

        return result;
    }
}
