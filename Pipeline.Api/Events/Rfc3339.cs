namespace Pipeline.Api.Events;

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
