namespace Pipeline.Contracts;

/// <summary>Headers on every <see cref="Topics.DeadLetter"/> record, naming why and where it came from.</summary>
public static class DeadLetterHeaders
{
    /// <summary>A stable, machine-readable reason code, e.g. <c>invalid-json</c>.</summary>
    public const string Reason = "dead-letter.reason";

    /// <summary>A human-readable explanation of the reason.</summary>
    public const string Detail = "dead-letter.detail";

    /// <summary>The service that dead-lettered the record.</summary>
    public const string Service = "dead-letter.service";

    /// <summary>The topic the record was read from.</summary>
    public const string SourceTopic = "dead-letter.source.topic";

    /// <summary>The partition the record was read from.</summary>
    public const string SourcePartition = "dead-letter.source.partition";

    /// <summary>The offset the record was read from.</summary>
    public const string SourceOffset = "dead-letter.source.offset";
}

/// <summary>Headers the stream processor puts on <see cref="Topics.Aggregates"/> records besides the trace context.</summary>
public static class AggregateHeaders
{
    /// <summary>
    /// The timestamp, in Unix milliseconds as invariant decimal text, of the event whose processing
    /// produced this update; absent on updates no event caused (a window closing, a re-send after a
    /// restart). The sink measures end-to-end freshness from it.
    /// </summary>
    public const string EventTime = "pipeline.event-time";
}
