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
