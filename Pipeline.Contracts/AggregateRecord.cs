namespace Pipeline.Contracts;

/// <summary>The window sizes an aggregate can have besides fixed-length windows.</summary>
public static class WindowNames
{
    /// <summary>All-time totals of a key.</summary>
    public const string AllTime = "all";

    /// <summary>The window start recorded for all-time totals: the epoch.</summary>
    public static readonly DateTimeOffset AllTimeStart = DateTimeOffset.UnixEpoch;
}

/// <summary>
/// The identity of one aggregate: the record key on <see cref="Topics.Aggregates"/> (as JSON)
/// and the primary key of its row in Postgres.
/// </summary>
public sealed record AggregateId(string Key, string Window, DateTimeOffset WindowStart);

/// <summary>
/// One state of one aggregate, as the stream processor emits it on <see cref="Topics.Aggregates"/>.
/// <see cref="Version"/> strictly increases with every change of the aggregate, so a consumer
/// keeps the highest it has seen and refuses anything older.
/// </summary>
public sealed record AggregateRecord(
    string Key,
    string Window,
    DateTimeOffset WindowStart,
    DateTimeOffset? WindowEnd,
    long Count,
    double Sum,
    double Min,
    double Max,
    double Mean,
    bool Final,
    long Version,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The identity this record is a state of.</summary>
    public AggregateId Id => new(Key, Window, WindowStart);
}
