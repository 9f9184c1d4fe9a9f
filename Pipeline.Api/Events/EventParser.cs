using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Events;

/// <summary>The limits every event of one request is checked against; the receipt time is the request's.</summary>
internal readonly record struct EventRules(DateTimeOffset ReceivedAt, TimeSpan MaxEventAge, TimeSpan MaxClockSkew, int MaxBatchSize);

/// <summary>Why a body yielded no events to produce.</summary>
internal enum ParseFailure
{
    None,
    MalformedJson,
    EmptyBody,
    EmptyBatch,
    BatchTooLarge,
    Invalid,
}

/// <summary>What a body held: the valid events, or why there are none to produce.</summary>
internal sealed class ParsedEvents
{
    public List<PipelineEvent> Events { get; } = [];

    public EventErrors Errors { get; } = new();

    public ParseFailure Failure { get; set; }

    /// <summary>For <see cref="ParseFailure.MalformedJson"/>: where and what.</summary>
    public string? Detail { get; set; }

    /// <summary>How many events the body held (for a batch over the limit: the limit plus one).</summary>
    public int EventCount { get; set; }
}

/// <summary>Field-level errors, keyed like <c>[3].value</c> (batch) or <c>value</c> (one event).</summary>
internal sealed class EventErrors
{
    public const int MaxReported = 100;

    private readonly List<(string Field, string Code, string Message)> _reported = [];

    public int Count { get; private set; }

    public void Add(string field, string code, string message)
    {
        Count++;
        if (_reported.Count < MaxReported)
        {
            _reported.Add((field, code, message));
        }
    }

    public EventValidationProblem ToProblem(string detail)
    {
        var problem = new EventValidationProblem
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "One or more events are invalid.",
            Detail = detail,
            ErrorCount = Count,
        };
        foreach (var group in _reported.GroupBy(error => error.Field, StringComparer.Ordinal))
        {
            problem.Errors[group.Key] = group.Select(error => error.Message).ToArray();
            problem.Codes[group.Key] = group.Select(error => error.Code).ToArray();
        }

        return ApiProblems.WithCode(problem, ErrorCodes.ValidationFailed);
    }
}

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

    [Flags]
    private enum Field
    {
        None = 0,
        Id = 1,
        Key = 2,
        Value = 4,
        Timestamp = 8,
    }

    /// <summary>One event: a JSON object.</summary>
    public static ParsedEvents ParseSingle(ReadOnlySpan<byte> body, in EventRules rules)
    {
        var result = new ParsedEvents();
        if (body.Trim(JsonWhitespace).IsEmpty)
        {
            result.Failure = ParseFailure.EmptyBody;
            return result;
        }

        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
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
        var result = new ParsedEvents();
        if (body.Trim(JsonWhitespace).IsEmpty)
        {
            result.Failure = ParseFailure.EmptyBody;
            return result;
        }

        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
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

        string? id = null;
        string? key = null;
        double? value = null;
        DateTimeOffset? timestamp = null;
        var seen = Field.None;
        var valid = true;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = reader.ValueTextEquals("id"u8) ? Field.Id
                : reader.ValueTextEquals("key"u8) ? Field.Key
                : reader.ValueTextEquals("value"u8) ? Field.Value
                : reader.ValueTextEquals("timestamp"u8) ? Field.Timestamp
                : Field.None;
            var name = field == Field.None ? EchoableName(ref reader) : null;
            reader.Read();

            if (field == Field.None)
            {
                errors.Add(Path(index, name), ErrorCodes.UnknownProperty,
                    $"Unknown property '{name}': an event has only id, key, value and timestamp (names are case-sensitive).");
                reader.Skip();
                valid = false;
                continue;
            }

            if ((seen & field) != 0)
            {
                var fieldName = FieldName(field);
                errors.Add(Path(index, fieldName), ErrorCodes.DuplicateProperty, $"'{fieldName}' appears more than once.");
                reader.Skip();
                valid = false;
                continue;
            }

            seen |= field;
            valid &= field switch
            {
                Field.Id => ReadId(ref reader, index, errors, out id),
                Field.Key => ReadKey(ref reader, index, errors, out key),
                Field.Value => ReadValue(ref reader, index, errors, out value),
                _ => ReadTimestamp(ref reader, index, rules, errors, out timestamp),
            };
        }

        // A null key or value was reported where it was read; here only absent ones.
        if ((seen & Field.Key) == 0)
        {
            errors.Add(Path(index, "key"), ErrorCodes.KeyRequired, "'key' is required.");
            valid = false;
        }

        if ((seen & Field.Value) == 0)
        {
            errors.Add(Path(index, "value"), ErrorCodes.ValueRequired, "'value' is required.");
            valid = false;
        }

        if (!valid || key is null || value is null)
        {
            return null;
        }

        return new PipelineEvent(id ?? Guid.CreateVersion7().ToString(), key, value.Value, timestamp ?? rules.ReceivedAt);
    }

    private static bool ReadId(ref Utf8JsonReader reader, int index, EventErrors errors, out string? id)
    {
        id = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return true;
            case JsonTokenType.String:
                if (!TryGetText(ref reader, index, "id", errors, out var text))
                {
                    return false;
                }

                if (PipelineEventRules.CheckId(text) is { } breach)
                {
                    errors.Add(Path(index, "id"), breach.Code, breach.Message);
                    return false;
                }

                id = text;
                return true;
            default:
                errors.Add(Path(index, "id"), ErrorCodes.IdNotAString, "'id' must be a string.");
                reader.Skip();
                return false;
        }
    }

    private static bool ReadKey(ref Utf8JsonReader reader, int index, EventErrors errors, out string? key)
    {
        key = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                errors.Add(Path(index, "key"), ErrorCodes.KeyRequired, "'key' is required and must not be null.");
                return false;
            case JsonTokenType.String:
                if (!TryGetText(ref reader, index, "key", errors, out var text))
                {
                    return false;
                }

                if (PipelineEventRules.CheckKey(text) is { } breach)
                {
                    errors.Add(Path(index, "key"), breach.Code, breach.Message);
                    return false;
                }

                key = text;
                return true;
            default:
                errors.Add(Path(index, "key"), ErrorCodes.KeyNotAString, "'key' must be a string.");
                reader.Skip();
                return false;
        }
    }

    private static bool ReadValue(ref Utf8JsonReader reader, int index, EventErrors errors, out double? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                errors.Add(Path(index, "value"), ErrorCodes.ValueRequired, "'value' is required and must not be null.");
                return false;
            case JsonTokenType.Number:
                // TryGetDouble refuses a number beyond double's range: as a double it would be infinite.
                var number = reader.TryGetDouble(out var parsed) ? parsed : double.PositiveInfinity;
                if (PipelineEventRules.CheckValue(number) is { } breach)
                {
                    errors.Add(Path(index, "value"), breach.Code, breach.Message);
                    return false;
                }

                value = number;
                return true;
            default:
                errors.Add(Path(index, "value"), ErrorCodes.ValueNotANumber, "'value' must be a JSON number (not a string, boolean, object or array).");
                reader.Skip();
                return false;
        }
    }

    private static bool ReadTimestamp(ref Utf8JsonReader reader, int index, in EventRules rules, EventErrors errors, out DateTimeOffset? timestamp)
    {
        timestamp = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return true;
            case JsonTokenType.String:
                if (!TryGetText(ref reader, index, "timestamp", errors, out var text))
                {
                    return false;
                }

                if (!Rfc3339.TryParse(text, out var parsed))
                {
                    errors.Add(Path(index, "timestamp"), ErrorCodes.TimestampInvalidFormat,
                        "'timestamp' must be an RFC 3339 date-time with an offset, e.g. 2025-01-31T12:00:00Z or 2025-01-31T13:00:00.5+01:00.");
                    return false;
                }

                if (parsed < rules.ReceivedAt - rules.MaxEventAge)
                {
                    errors.Add(Path(index, "timestamp"), ErrorCodes.TimestampTooOld,
                        $"'timestamp' is older than the oldest accepted ({rules.MaxEventAge.TotalDays:0.##} days before receipt).");
                    return false;
                }

                if (parsed > rules.ReceivedAt + rules.MaxClockSkew)
                {
                    errors.Add(Path(index, "timestamp"), ErrorCodes.TimestampInFuture,
                        $"'timestamp' is more than {rules.MaxClockSkew.TotalSeconds:0.##} s in the future.");
                    return false;
                }

                timestamp = parsed;
                return true;
            default:
                errors.Add(Path(index, "timestamp"), ErrorCodes.TimestampNotAString, "'timestamp' must be a string.");
                reader.Skip();
                return false;
        }
    }

    // GetString unescapes and transcodes; it throws on invalid UTF-8 or a lone surrogate escape.
    private static bool TryGetText(ref Utf8JsonReader reader, int index, string field, EventErrors errors, out string text)
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

        errors.Add(Path(index, field), ErrorCodes.InvalidUnicode, $"'{field}' is not valid Unicode text.");
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

    private static string FieldName(Field field) => field switch
    {
        Field.Id => "id",
        Field.Key => "key",
        Field.Value => "value",
        _ => "timestamp",
    };

    private static string Path(int index, string? field) => (index, field) switch
    {
        (< 0, null) => "$",
        (< 0, _) => field,
        (_, null) => string.Create(CultureInfo.InvariantCulture, $"[{index}]"),
        _ => string.Create(CultureInfo.InvariantCulture, $"[{index}].{field}"),
    };

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

/// <summary>
/// RFC 3339 date-times, which must carry an offset (<c>Z</c> or <c>±hh:mm</c>); fractions beyond
/// 100 ns are truncated. Leap seconds (<c>:60</c>) and offsets beyond ±14 h are refused.
/// </summary>
internal static class Rfc3339
{
    public static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset value)
    {
        value = default;
        if (text.Length is < 20 or > 64
            || !TryDigits(text[0..4], out var year) || text[4] != '-'
            || !TryDigits(text[5..7], out var month) || text[7] != '-'
            || !TryDigits(text[8..10], out var day)
            || text[10] is not ('T' or 't')
            || !TryDigits(text[11..13], out var hour) || text[13] != ':'
            || !TryDigits(text[14..16], out var minute) || text[16] != ':'
            || !TryDigits(text[17..19], out var second))
        {
            return false;
        }

        var rest = text[19..];
        long fractionTicks = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            var digits = 0;
            var i = 1;
            for (; i < rest.Length && char.IsAsciiDigit(rest[i]); i++)
            {
                if (digits < 7)
                {
                    fractionTicks = (fractionTicks * 10) + (rest[i] - '0');
                    digits++;
                }
            }

            if (i == 1)
            {
                return false;
            }

            for (; digits < 7; digits++)
            {
                fractionTicks *= 10;
            }

            rest = rest[i..];
        }

        TimeSpan offset;
        if (rest is "Z" or "z")
        {
            offset = TimeSpan.Zero;
        }
        else if (rest.Length == 6 && rest[0] is ('+' or '-') && TryDigits(rest[1..3], out var offsetHours) && rest[3] == ':'
                 && TryDigits(rest[4..6], out var offsetMinutes) && offsetMinutes < 60)
        {
            offset = new TimeSpan(offsetHours, offsetMinutes, 0) * (rest[0] == '-' ? -1 : 1);
            if (offset.Duration() > TimeSpan.FromHours(14))
            {
                return false;
            }
        }
        else
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        try
        {
            value = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            // Year 1 with a positive offset, or 9999-12-31 with a negative one, leaves DateTimeOffset's range.
            return false;
        }
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out int number)
    {
        number = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            number = (number * 10) + (c - '0');
        }

        return true;
    }
}
