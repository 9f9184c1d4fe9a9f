using System.ComponentModel;
using Microsoft.AspNetCore.Mvc;
using Pipeline.Contracts;

namespace Pipeline.Api.Aggregates;

/// <summary>The query parameters of a window page, the same for a key in the path or in the query string.</summary>
public sealed class WindowQuery
{
    [FromQuery(Name = "size")]
    [Description("The window size: 1m or 1h. Default 1m.")]
    public string? Size { get; init; }

    [FromQuery(Name = "from")]
    [Description("Only windows starting at or after this instant (RFC 3339, e.g. 2030-01-02T03:00:00Z).")]
    public string? From { get; init; }

    [FromQuery(Name = "to")]
    [Description("Only windows starting before this instant (RFC 3339).")]
    public string? To { get; init; }

    [FromQuery(Name = "limit")]
    [Description("Windows per page, 1 to 1000. Default 100.")]
    public string? Limit { get; init; }

    [FromQuery(Name = "cursor")]
    [Description("The nextCursor of the previous page.")]
    public string? Cursor { get; init; }
}

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
