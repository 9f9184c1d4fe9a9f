namespace Pipeline.Api.Aggregates;

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
    double Mean, bool Final, long Version, DateTimeOffset UpdatedAt);
