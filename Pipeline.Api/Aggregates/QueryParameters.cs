using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
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
    /// A cursor names the last window start a page returned (microseconds since the epoch, the
    /// precision PostgreSQL keeps); the next page starts after it. Opaque to clients.
    /// </summary>
    public static string EncodeCursor(DateTimeOffset lastWindowStart)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, (lastWindowStart.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecodeCursor(string? cursor, [NotNullWhen(true)] out DateTimeOffset? after)
    {
        after = null;
        if (cursor is null)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[9];
        if (cursor.Length != 11 || !Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != 8)
        {
            return false;
        }

        var micros = BinaryPrimitives.ReadInt64BigEndian(bytes);
        var ticks = DateTimeOffset.UnixEpoch.UtcTicks + micros * 10;
        if (micros < 0 || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        after = new DateTimeOffset(ticks, TimeSpan.Zero);
        return true;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
