using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Api.Aggregates;

/// <summary>Parsing of the query parameters that have a format of their own.</summary>
internal static partial class QueryParameters
{
    /// <summary>The window sizes the stream processor computes.</summary>
    public static readonly IReadOnlyList<string> WindowSizes = ["1m", "1h"];

    /// <summary>An RFC 3339 date-time: a full date, a time and an explicit offset (Z or ±hh:mm).</summary>
    public static bool TryParseInstant(string? text, out DateTimeOffset? instant)
    {
        instant = null;
        if (text is null)
        {
            return true;
        }

        if (!Rfc3339().IsMatch(text)
            || !DateTimeOffset.TryParse(text.Replace(' ', 'T'), CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            return false;
        }

        instant = parsed.ToUniversalTime();
        return true;
    }

    /// <summary>
    /// A <c>limit</c> as the client sent it: absent (the default), or a whole number from 1 to
    /// <paramref name="max"/>. Anything else (a word, a fraction, a number past Int32) is refused by
    /// the endpoint with <c>invalid-limit</c>, not by parameter binding.
    /// </summary>
    public static bool TryParseLimit(string? text, int defaultLimit, int max, out int limit)
    {
        limit = defaultLimit;
        if (text is null)
        {
            return true;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit >= 1 && limit <= max;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
