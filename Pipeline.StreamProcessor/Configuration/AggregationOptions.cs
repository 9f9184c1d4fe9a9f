using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.StreamProcessor.Configuration;

/// <summary>
/// What the processor computes: section <c>Aggregation</c> (environment <c>Aggregation__Grace=45s</c>,
/// <c>Aggregation__Windows__0=1m</c>). Durations accept <c>200ms</c>, <c>30s</c>, <c>1m</c>, <c>1h</c>,
/// <c>1d</c> or <c>hh:mm:ss</c>.
/// </summary>
public sealed class AggregationOptions
{
    public const string SectionName = "Aggregation";

    /// <summary>The window sizes used when <see cref="Windows"/> is not set.</summary>
    public static IReadOnlyList<string> DefaultWindows { get; } = ["1m", "1h"];

    /// <summary>
    /// Tumbling event-time window sizes, aligned to the epoch; all-time totals are always kept.
    /// Unset means <see cref="DefaultWindows"/>. (An array rather than a list with defaults:
    /// the configuration binder appends to a list's existing items instead of replacing them.)
    /// </summary>
    [WindowSizes]
    public string[]? Windows { get; set; }

    /// <summary>How long after its end a window still accepts out-of-order events.</summary>
    [Duration("Aggregation:Grace", "0s", "0s or more")]
    public string Grace { get; set; } = "30s";

    /// <summary>
    /// How long an event id is remembered, in stream time: a second event with the same key and id
    /// is dropped while the partition's stream time is at most this long past the stream time at
    /// which the first one was seen (so a retried late event is recognised too).
    /// </summary>
    [Duration("Aggregation:DedupeWindow", "0s", "0s (no dedupe) or more")]
    public string DedupeWindow { get; set; } = "1h";

    /// <summary>
    /// The most event ids one processor instance remembers at once, over all its tasks: the memory
    /// bound of dedupe. Past it the oldest are forgotten early, which shortens the effective dedupe
    /// window (logged at Warning, counted, and reported Degraded in health). 0 means no bound. The
    /// default holds one hour at 1,000 events/s, about 1.3 GiB at the 347 bytes an id that
    /// bench/Processor measured.
    /// </summary>
    [SettingRange(0, 1_000_000_000, ErrorMessage = "Aggregation:DedupeMaxIds must be 0 (no bound) or a count of event ids up to 1000000000.")]
    public int DedupeMaxIds { get; set; } = 4_000_000;

    /// <summary>The longest an update may take from its event to the <c>aggregates</c> topic.</summary>
    [Duration("Aggregation:EmitInterval", "50ms", "at least 50ms")]
    public string EmitInterval { get; set; } = "200ms";

    /// <summary>
    /// How far ahead of the processor's wall clock an event's timestamp may carry stream time. An
    /// event stamped further ahead (a client whose clock runs fast) still counts in its own window
    /// and in all-time, but stream time goes no further than wall clock plus this lead, so the
    /// event cannot close the windows that on-time events are still filling. Keep it below
    /// <see cref="Grace"/>.
    /// </summary>
    [Duration("Aggregation:MaxEventLead", "0s", "0s or more")]
    public string MaxEventLead { get; set; } = "5s";
}

[OptionsValidator]
internal sealed partial class AggregationOptionsValidator : IValidateOptions<AggregationOptions>;
