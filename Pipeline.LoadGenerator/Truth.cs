using Pipeline.Contracts;

namespace Pipeline.LoadGenerator;

/// <summary>Count, sum, min and max of a set of values; the mean follows.</summary>
internal sealed record Figures(long Count, double Sum, double Min, double Max)
{
    public static readonly Figures Empty = new(0, 0, double.PositiveInfinity, double.NegativeInfinity);

    public double Mean => Count == 0 ? 0 : Sum / Count;

    public Figures Add(double value) => new(Count + 1, Sum + value, Math.Min(Min, value), Math.Max(Max, value));
}

/// <summary>
/// What the pipeline must end up showing for the events the API accepted: each id counted
/// once, in the all-time figures of its key and, unless it was sent late, in the window of
/// each size that holds its timestamp.
/// </summary>
internal sealed class Truth(IReadOnlyList<string> windowSizes)
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _ids = [];
    private readonly Dictionary<string, Figures> _totals = [];
    private readonly Dictionary<(string Key, string Size, DateTimeOffset Start), Figures> _windows = [];
    private readonly HashSet<string> _uncertainKeys = [];
    private readonly Dictionary<string, TimeSpan> _sizes = windowSizes.ToDictionary(size => size, WindowSize.Parse);

    public int AcceptedEvents
    {
        get
        {
            lock (_gate)
            {
                return _ids.Count;
            }
        }
    }

    public IReadOnlyDictionary<string, Figures> Totals => _totals;

    public IReadOnlyDictionary<(string Key, string Size, DateTimeOffset Start), Figures> Windows => _windows;

    /// <summary>Keys with an event whose fate is unknown (no answer, or given up on): left out of verification.</summary>
    public IReadOnlySet<string> UncertainKeys => _uncertainKeys;

    public IReadOnlyDictionary<string, TimeSpan> Sizes => _sizes;

    /// <summary>Records an accepted event; a repeated id changes nothing.</summary>
    public void Accept(GeneratedEvent accepted)
    {
        lock (_gate)
        {
            if (!_ids.Add(accepted.Id))
            {
                return;
            }

            _totals[accepted.Key] = _totals.GetValueOrDefault(accepted.Key, Figures.Empty).Add(accepted.Value);
            if (accepted.Late)
            {
                return;
            }

            foreach (var (size, length) in _sizes)
            {
                var window = (accepted.Key, size, WindowSize.StartOf(accepted.Timestamp, length));
                _windows[window] = _windows.GetValueOrDefault(window, Figures.Empty).Add(accepted.Value);
            }
        }
    }

    /// <summary>Marks the key of an event that may or may not be in Kafka.</summary>
    public void Uncertain(GeneratedEvent unknown)
    {
        lock (_gate)
        {
            _uncertainKeys.Add(unknown.Key);
        }
    }
}

/// <summary>Window sizes written as the pipeline writes them: <c>30s</c>, <c>1m</c>, <c>1h</c>, <c>1d</c>.</summary>
internal static class WindowSize
{
    public static TimeSpan Parse(string size)
    {
        if (size.Length >= 2 && long.TryParse(size[..^1], out var amount) && amount > 0)
        {
            switch (size[^1])
            {
                case 's': return TimeSpan.FromSeconds(amount);
                case 'm': return TimeSpan.FromMinutes(amount);
                case 'h': return TimeSpan.FromHours(amount);
                case 'd': return TimeSpan.FromDays(amount);
            }
        }

        throw new FormatException($"'{size}' is not a window size: use a whole number with s, m, h or d, e.g. 1m.");
    }

    /// <summary>The start of the epoch-aligned window of <paramref name="length"/> holding <paramref name="timestamp"/>.</summary>
    public static DateTimeOffset StartOf(DateTimeOffset timestamp, TimeSpan length)
    {
        var ticks = (timestamp - DateTimeOffset.UnixEpoch).Ticks;
        return DateTimeOffset.UnixEpoch.AddTicks(ticks - (((ticks % length.Ticks) + length.Ticks) % length.Ticks));
    }

    /// <summary>The window names the pipeline uses besides sized windows.</summary>
    public const string AllTime = WindowNames.AllTime;
}
