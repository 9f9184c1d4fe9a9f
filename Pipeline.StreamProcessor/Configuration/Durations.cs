using System.Globalization;

namespace Pipeline.StreamProcessor.Configuration;

/// <summary>
/// Durations as configuration writes them: <c>200ms</c>, <c>30s</c>, <c>1m</c>, <c>1h</c>, <c>1d</c>,
/// or a .NET time span such as <c>00:00:30</c>. Window names are the canonical short form,
/// so <c>60s</c> and <c>1m</c> name the same window, <c>1m</c>.
/// </summary>
internal static class Durations
{
    private static readonly (string Suffix, long Milliseconds)[] Units =
    [
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ];

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var trimmed = text.Trim();
        // Longest suffix first, so "ms" is not read as "m".
        foreach (var (suffix, milliseconds) in Units.OrderByDescending(unit => unit.Suffix.Length))
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && long.TryParse(trimmed[..^suffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                try
                {
                    duration = TimeSpan.FromMilliseconds(checked(count * milliseconds));
                    return true;
                }
                catch (OverflowException)
                {
                    return false;
                }
            }
        }

        return TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out duration);
    }

    /// <summary>The shortest exact form: 60000 ms is <c>1m</c>, 90000 ms is <c>90s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        var milliseconds = (long)duration.TotalMilliseconds;
        for (var i = Units.Length - 1; i >= 0; i--)
        {
            var (suffix, unit) = Units[i];
            if (milliseconds % unit == 0)
            {
                return (milliseconds / unit).ToString(CultureInfo.InvariantCulture) + suffix;
            }
        }

        return milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
    }
}
