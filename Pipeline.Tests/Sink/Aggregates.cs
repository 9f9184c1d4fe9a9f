namespace Pipeline.Tests.Sink;

/// <summary>Aggregate states with figures derived from their version, so any state can be told from any other.</summary>
internal static class Aggregates
{
    public static readonly DateTimeOffset Minute0 = new(2030, 1, 2, 3, 0, 0, TimeSpan.Zero);

    public static AggregateRecord Window(string key, int minute, long version, string size = "1m")
    {
        var length = size == "1h" ? TimeSpan.FromHours(1) : TimeSpan.FromMinutes(1);
        var start = Minute0 + length * minute;
        return new AggregateRecord(key, size, start, start + length, version, version * 1.5, -version, version * 2, 0.75,
            Final: version % 7 == 0, version, Minute0.AddMilliseconds(version));
    }

    public static AggregateRecord Totals(string key, long version) =>
        new(key, WindowNames.AllTime, WindowNames.AllTimeStart, null, version * 10, version * 2.5, -version, version * 3, 0.25,
            Final: false, version, Minute0.AddMilliseconds(version));

    /// <summary>What the database must hold after any order of these states: the highest version of each aggregate.</summary>
    public static List<AggregateRecord> Truth(IEnumerable<AggregateRecord> states) =>
        Ordered(states.GroupBy(state => (state.Key, state.Window, state.WindowStart))
            .Select(group => group.MaxBy(state => state.Version)!));

    public static List<AggregateRecord> Ordered(IEnumerable<AggregateRecord> states) =>
        states.OrderBy(state => state.Key, StringComparer.Ordinal)
            .ThenBy(state => state.Window, StringComparer.Ordinal)
            .ThenBy(state => state.WindowStart)
            .ToList();
}
