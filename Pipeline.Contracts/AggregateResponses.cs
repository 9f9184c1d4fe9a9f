namespace Pipeline.Contracts;

// What the API's query endpoints and change stream answer (Pipeline.Api), as its clients read
// them too (Pipeline.Web): one copy of the HTTP shapes both sides share.

/// <summary>All-time totals of one key.</summary>
public sealed record AggregateTotals(string Key, long Count, double Sum, double Min, double Max, double Mean, DateTimeOffset UpdatedAt);

/// <summary>One window of a key.</summary>
public sealed record WindowItem(
    DateTimeOffset WindowStart, DateTimeOffset WindowEnd, long Count, double Sum, double Min, double Max, double Mean, bool Final, DateTimeOffset UpdatedAt);

/// <summary>One page of a key's windows of one size; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record WindowPage(string Key, string Size, IReadOnlyList<WindowItem> Items, string? NextCursor);

/// <summary>The keys with the highest all-time figures, best first.</summary>
public sealed record TopKeys(string OrderBy, IReadOnlyList<AggregateTotals> Items);

/// <summary>
/// One aggregate that changed, as pushed on the stream: <see cref="Window"/> is <c>all</c> for
/// all-time totals (then <see cref="WindowEnd"/> is null) or a window size such as <c>1m</c>.
/// </summary>
public sealed record AggregateChange(
    string Key, string Window, DateTimeOffset WindowStart, DateTimeOffset? WindowEnd, long Count, double Sum, double Min, double Max,
    double Mean, bool Final, long Version, DateTimeOffset UpdatedAt)
{
    /// <summary>The change the sink announced (<see cref="AggregateChangeNotifications"/>), as the stream sends it.</summary>
    public static AggregateChange From(AggregateRecord record) => new(
        record.Key, record.Window, record.WindowStart, record.WindowEnd, record.Count, record.Sum, record.Min, record.Max,
        record.Mean, record.Final, record.Version, record.UpdatedAt);
}
