namespace Pipeline.Web.Api;

// What the API answers, as this client reads it (Pipeline.Api's AggregateResponses and StatusResponses).

public sealed record AggregateTotals(string Key, long Count, double Sum, double Min, double Max, double Mean, DateTimeOffset UpdatedAt);

public sealed record WindowItem(
    DateTimeOffset WindowStart, DateTimeOffset WindowEnd, long Count, double Sum, double Min, double Max, double Mean, bool Final, DateTimeOffset UpdatedAt);

public sealed record WindowPage(string Key, string Size, IReadOnlyList<WindowItem> Items, string? NextCursor);

public sealed record TopKeys(string OrderBy, IReadOnlyList<AggregateTotals> Items);

/// <summary>One change on the stream; <see cref="Window"/> is <c>all</c> for all-time totals.</summary>
public sealed record AggregateChange(
    string Key, string Window, DateTimeOffset WindowStart, DateTimeOffset? WindowEnd, long Count, double Sum, double Min, double Max,
    double Mean, bool Final, long Version, DateTimeOffset UpdatedAt)
{
    public const string AllTime = "all";

    public AggregateTotals ToTotals() => new(Key, Count, Sum, Min, Max, Mean, UpdatedAt);

    public WindowItem ToWindow() => new(WindowStart, WindowEnd ?? WindowStart, Count, Sum, Min, Max, Mean, Final, UpdatedAt);
}

public sealed record PipelineStatus(DateTimeOffset MeasuredAt, IngestStatus Ingest, IReadOnlyList<TopicBacklog>? Backlog, string ChangeStream)
{
    public bool ChangeStreamListening => ChangeStream == "listening";
}

public sealed record IngestStatus(double EventsPerSecond, int WindowSeconds, long AcceptedSinceStart);

public sealed record TopicBacklog(string Topic, string Group, long Waiting, long MaxPerPartition, long? Limit);

/// <summary>What the API answered to a test event: accepted, or a problem with its stable code.</summary>
public sealed record SendResult(bool Accepted, int Status, string? Id, string? Code, string? Title, string? Detail);
