using Pipeline.Contracts;

namespace Pipeline.Web.Api;

// The API's answers are the shapes in Pipeline.Contracts (AggregateResponses, StatusResponses);
// here only what this client adds to them.

/// <summary>How the live page reads the API's shapes.</summary>
public static class ApiContractExtensions
{
    /// <summary>An all-time change as the totals it sets.</summary>
    public static AggregateTotals ToTotals(this AggregateChange change) =>
        new(change.Key, change.Count, change.Sum, change.Min, change.Max, change.Mean, change.UpdatedAt);

    /// <summary>A window's change as the window it sets.</summary>
    public static WindowItem ToWindow(this AggregateChange change) =>
        new(change.WindowStart, change.WindowEnd ?? change.WindowStart, change.Count, change.Sum, change.Min, change.Max, change.Mean, change.Final, change.UpdatedAt);

    /// <summary>Whether the API hears the sink's changes (the database is reachable).</summary>
    public static bool ChangeStreamListening(this PipelineStatus status) => status.ChangeStream == "listening";
}

/// <summary>What the API answered to a test event: accepted, or a problem with its stable code.</summary>
public sealed record SendResult(bool Accepted, int Status, string? Id, string? Code, string? Title, string? Detail);
