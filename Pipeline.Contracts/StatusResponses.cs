namespace Pipeline.Contracts;

// What GET /api/status answers (Pipeline.Api), as its clients read it too (Pipeline.Web).

/// <summary>The pipeline at a glance, as the API sees it.</summary>
/// <param name="MeasuredAt">When the API read these figures.</param>
/// <param name="Ingest">Events the API acknowledged.</param>
/// <param name="Backlog">Records waiting per topic for the group that reads it; null while the broker cannot be measured.</param>
/// <param name="ChangeStream"><c>listening</c> while the API hears the sink's changes (the database is reachable), else <c>reconnecting</c>.</param>
public sealed record PipelineStatus(DateTimeOffset MeasuredAt, IngestStatus Ingest, IReadOnlyList<TopicBacklog>? Backlog, string ChangeStream);

/// <summary>Events acknowledged per second over the last <see cref="WindowSeconds"/> seconds, and in all since the API started.</summary>
public sealed record IngestStatus(double EventsPerSecond, int WindowSeconds, long AcceptedSinceStart);

/// <summary>Records of <see cref="Topic"/> not yet read by <see cref="Group"/>: in all, and on its fullest partition.</summary>
public sealed record TopicBacklog(string Topic, string Group, long Waiting, long MaxPerPartition, long? Limit);
