namespace Pipeline.Contracts;

/// <summary>
/// One accepted event as it travels on <see cref="Topics.Events"/>: the record key is
/// <see cref="Key"/>, the record value this object as JSON, the record timestamp <see cref="Timestamp"/>.
/// </summary>
public sealed record PipelineEvent(string Id, string Key, double Value, DateTimeOffset Timestamp);
