using System.Buffers;
using System.Globalization;
using System.Text;

namespace Pipeline.Contracts;

// The rules one event's fields must meet, checked by the same code where an event enters the
// pipeline (the API, before it produces) and where it is counted (the stream processor, which
// also reads records written by anything else). An event the API accepts therefore never fails
// one of these rules later. Named apart from the API's request-scoped EventRules (receipt time,
// age and skew limits), which only the API can check.

/// <summary>One field of an event breaking a rule: a stable code (<see cref="EventRuleCodes"/>) and a message saying what the rule is.</summary>
/// <param name="Code">The stable code: the API's field error code, and the stream processor's dead-letter reason.</param>
/// <param name="Message">What is wrong and what the rule is; it names code points, never echoes the field.</param>
public sealed record EventRuleBreach(string Code, string Message);

/// <summary>
/// The stable codes of the event rules. The API answers them in a validation problem's
/// <c>errorCodes</c>; the stream processor dead-letters a record breaking a rule with the same code
/// as its <see cref="DeadLetterHeaders.Reason"/>. They never change meaning.
/// </summary>
public static class EventRuleCodes
{
    /// <summary>A string holds an unpaired surrogate (or, as read, invalid UTF-8).</summary>
    public const string InvalidUnicode = "invalid-unicode";

    /// <summary><c>id</c> is an empty string.</summary>
    public const string IdEmpty = "id.empty";

    /// <summary><c>id</c> is longer than <see cref="PipelineEventRules.MaxIdLength"/> characters.</summary>
    public const string IdTooLong = "id.too-long";

    /// <summary><c>id</c> holds a control character.</summary>
    public const string IdControlCharacter = "id.control-character";

    /// <summary><c>id</c> holds an invisible or direction-changing character.</summary>
    public const string IdInvisibleCharacter = "id.invisible-character";

    /// <summary><c>id</c> is only whitespace.</summary>
    public const string IdWhitespaceOnly = "id.whitespace-only";

    /// <summary><c>key</c> is an empty string.</summary>
    public const string KeyEmpty = "key.empty";

    /// <summary><c>key</c> is longer than <see cref="PipelineEventRules.MaxKeyLength"/> characters.</summary>
    public const string KeyTooLong = "key.too-long";

    /// <summary><c>key</c> holds a control character.</summary>
    public const string KeyControlCharacter = "key.control-character";

    /// <summary><c>key</c> holds an invisible or direction-changing character.</summary>
    public const string KeyInvisibleCharacter = "key.invisible-character";

    /// <summary><c>key</c> is only whitespace.</summary>
    public const string KeyWhitespaceOnly = "key.whitespace-only";

    /// <summary><c>key</c> is not in Unicode normalization form C.</summary>
    public const string KeyNotNfc = "key.not-nfc";

    /// <summary><c>value</c> is not a finite double.</summary>
    public const string ValueNotFinite = "value.not-finite";

    /// <summary><c>value</c>'s magnitude is above <see cref="PipelineEventRules.MaxValueMagnitude"/>.</summary>
    public const string ValueOutOfRange = "value-out-of-range";
}

/// <summary>
/// The rules for an event's <c>id</c>, <c>key</c> and <c>value</c>, and their limits. Each check
/// returns null when the field is valid, else the first rule it breaks, in a fixed order
/// (Unicode, empty, length, control, invisible, whitespace, NFC). Lengths count Unicode code
/// points, as JSON Schema's <c>maxLength</c> does.
/// </summary>
public static class PipelineEventRules
{
    /// <summary>The longest <c>id</c>, in characters (code points).</summary>
    public const int MaxIdLength = 128;

    /// <summary>The longest <c>key</c>, in characters (code points).</summary>
    public const int MaxKeyLength = 256;

    /// <summary>
    /// The largest magnitude of a <c>value</c>. Sums stay finite: one aggregate can add up
    /// 1.7e8 values of this magnitude before it could pass <see cref="double.MaxValue"/>, where a
    /// bound of <see cref="double.MaxValue"/> itself would overflow at the second event.
    /// </summary>
    public const double MaxValueMagnitude = 1e300;

    // Characters that change how the text around them is shown, or are not shown at all, so two
    // keys that look the same can differ: bidi embeddings, overrides, isolates and marks, the
    // Arabic letter mark, zero-width space/non-joiner/joiner, word joiner, the byte order mark
    // (zero-width no-break space) and the line and paragraph separators.
    private const string InvisibleCharacters =
        "\u061C\u200B\u200C\u200D\u200E\u200F\u2028\u2029\u202A\u202B\u202C\u202D\u202E\u2060\u2066\u2067\u2068\u2069\uFEFF";

    private static readonly SearchValues<char> Invisible = SearchValues.Create(InvisibleCharacters);

    private static readonly TextField Id = TextField.Of("id", MaxIdLength,
        EventRuleCodes.IdEmpty, "'id' must not be empty; leave it out to have one made.",
        EventRuleCodes.IdTooLong, EventRuleCodes.IdControlCharacter, EventRuleCodes.IdInvisibleCharacter, EventRuleCodes.IdWhitespaceOnly);

    private static readonly TextField Key = TextField.Of("key", MaxKeyLength,
        EventRuleCodes.KeyEmpty, "'key' must not be empty.",
        EventRuleCodes.KeyTooLong, EventRuleCodes.KeyControlCharacter, EventRuleCodes.KeyInvisibleCharacter, EventRuleCodes.KeyWhitespaceOnly);

    private static readonly EventRuleBreach ValueNotFinite = new(EventRuleCodes.ValueNotFinite, "'value' must fit a finite 64-bit floating-point number.");
    private static readonly EventRuleBreach ValueOutOfRange = new(EventRuleCodes.ValueOutOfRange,
        string.Create(CultureInfo.InvariantCulture, $"'value' must be between -{MaxValueMagnitude:0e0} and {MaxValueMagnitude:0e0}, so that sums of events stay finite."));

    /// <summary>The first rule <paramref name="id"/> breaks, or null.</summary>
    public static EventRuleBreach? CheckId(string id) => Check(id, Id);

    /// <summary>The first rule <paramref name="key"/> breaks, or null.</summary>
    /// <remarks>
    /// A key that is not NFC is refused, not normalised: a key's aggregates live on the partition
    /// its record key's bytes hash to, so only the sender can choose the one form a key has (the
    /// processor cannot re-key a record written by someone else), and the API does not change what
    /// a client sent under its feet (the client would then query a key it never sent).
    /// </remarks>
    public static EventRuleBreach? CheckKey(string key) => Check(key, Key) ?? FindNotNfc(key);

    /// <summary>The first rule <paramref name="value"/> breaks, or null.</summary>
    public static EventRuleBreach? CheckValue(double value) =>
        !double.IsFinite(value) ? ValueNotFinite
        : Math.Abs(value) > MaxValueMagnitude ? ValueOutOfRange
        : null;

    /// <summary>Whether <paramref name="text"/> holds a surrogate that is not half of a pair, which no UTF-8 can carry.</summary>
    public static bool HasUnpairedSurrogate(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    // What keys and ids share; only a key must also be NFC.
    private static EventRuleBreach? Check(string text, TextField field)
    {
        if (HasUnpairedSurrogate(text))
        {
            return field.InvalidUnicode;
        }

        var length = CountCharacters(text, field.MaxLength);
        return length == 0 ? field.Empty
            : length > field.MaxLength ? field.TooLong
            : HasControlCharacter(text) ? field.Control
            : FindInvisible(text, field) ?? (IsWhitespaceOnly(text) ? field.WhitespaceOnly : null);
    }

    // C0, DEL and C1.
    private static bool HasControlCharacter(ReadOnlySpan<char> text) =>
        text.ContainsAnyInRange('\u0000', '\u001F') || text.ContainsAnyInRange('\u007F', '\u009F');

    private static EventRuleBreach? FindInvisible(string text, TextField field)
    {
        var at = text.AsSpan().IndexOfAny(Invisible);
        return at < 0 ? null
            : new EventRuleBreach(field.InvisibleCode, string.Create(CultureInfo.InvariantCulture,
                $"'{field.Name}' must not contain invisible or direction-changing characters: {Describe(text[at])} at character {CountCharacters(text.AsSpan(0, at), int.MaxValue) + 1}."));
    }

    private static bool IsWhitespaceOnly(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (!Rune.IsWhiteSpace(rune))
            {
                return false;
            }
        }

        return true;
    }

    private static EventRuleBreach? FindNotNfc(string key)
    {
        // Text below U+0300 is NFC (no combining marks, no singletons), so most keys skip the normaliser.
        if (!key.AsSpan().ContainsAnyExceptInRange('\u0000', '\u02FF') || key.IsNormalized(NormalizationForm.FormC))
        {
            return null;
        }

        var normalized = key.Normalize(NormalizationForm.FormC);
        var at = Math.Min(key.AsSpan().CommonPrefixLength(normalized), key.Length - 1);
        // Where the two first differ, which is the base character a mark composes with; never half a pair.
        while (at > 0 && char.IsLowSurrogate(key[at]))
        {
            at--;
        }

        var rune = Rune.GetRuneAt(key, at);
        var next = at + rune.Utf16SequenceLength < key.Length ? " " + Describe(Rune.GetRuneAt(key, at + rune.Utf16SequenceLength)) : "";
        return new EventRuleBreach(EventRuleCodes.KeyNotNfc, string.Create(CultureInfo.InvariantCulture,
            $"'key' must be in Unicode normalization form C (NFC): at character {CountCharacters(key.AsSpan(0, at), int.MaxValue) + 1} ({Describe(rune)}{next}) it differs from its NFC form. Send the key NFC-normalised; the API does not change it for you."));
    }

    private static string Describe(char character) => Describe(new Rune(character));

    private static string Describe(Rune rune) => string.Create(CultureInfo.InvariantCulture, $"U+{rune.Value:X4}");

    // Counting stops past the limit.
    private static int CountCharacters(ReadOnlySpan<char> text, int limit)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            if (++count > limit)
            {
                break;
            }
        }

        return count;
    }

    /// <summary>The breaches of one text field's rules, made once: only invisible characters and NFC get a message of their own.</summary>
    private sealed record TextField(
        string Name,
        int MaxLength,
        EventRuleBreach InvalidUnicode,
        EventRuleBreach Empty,
        EventRuleBreach TooLong,
        EventRuleBreach Control,
        string InvisibleCode,
        EventRuleBreach WhitespaceOnly)
    {
        public static TextField Of(string name, int maxLength, string emptyCode, string emptyMessage,
            string tooLongCode, string controlCode, string invisibleCode, string whitespaceCode) => new(
            name,
            maxLength,
            new EventRuleBreach(EventRuleCodes.InvalidUnicode, $"'{name}' is not valid Unicode text."),
            new EventRuleBreach(emptyCode, emptyMessage),
            new EventRuleBreach(tooLongCode, string.Create(CultureInfo.InvariantCulture, $"'{name}' must be at most {maxLength} characters.")),
            new EventRuleBreach(controlCode, $"'{name}' must not contain control characters."),
            invisibleCode,
            new EventRuleBreach(whitespaceCode, $"'{name}' must not be only whitespace."));
    }
}
