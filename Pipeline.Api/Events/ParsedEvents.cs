using Pipeline.Contracts;

namespace Pipeline.Api.Events;

/// <summary>Why a body yielded no events to produce.</summary>
internal enum ParseFailure
{
    None,
    MalformedJson,
    EmptyBody,
    EmptyBatch,
    BatchTooLarge,
    Invalid,
}

/// <summary>What a body held: the valid events, or why there are none to produce.</summary>
internal sealed class ParsedEvents
{
    public List<PipelineEvent> Events { get; } = [];

    public EventErrors Errors { get; } = new();

    public ParseFailure Failure { get; set; }

    /// <summary>For <see cref="ParseFailure.MalformedJson"/>: where and what.</summary>
    public string? Detail { get; set; }

    /// <summary>How many events the body held (for a batch over the limit: the limit plus one).</summary>
    public int EventCount { get; set; }
}
