using Microsoft.Extensions.Options;
using Pipeline.Contracts;

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
    public string[]? Windows { get; set; }

    /// <summary>How long after its end a window still accepts out-of-order events.</summary>
    public string Grace { get; set; } = "30s";

    /// <summary>
    /// How long an event id is remembered, in stream time: a second event with the same key and id
    /// is dropped while the partition's stream time is at most this long past the stream time at
    /// which the first one was seen (so a retried late event is recognised too).
    /// </summary>
    public string DedupeWindow { get; set; } = "1h";

    /// <summary>The longest an update may take from its event to the <c>aggregates</c> topic.</summary>
    public string EmitInterval { get; set; } = "200ms";

    /// <summary>
    /// How far ahead of the processor's wall clock an event's timestamp may carry stream time. An
    /// event stamped further ahead (a client whose clock runs fast) still counts in its own window
    /// and in all-time, but stream time goes no further than wall clock plus this lead, so the
    /// event cannot close the windows that on-time events are still filling. Keep it below
    /// <see cref="Grace"/>.
    /// </summary>
    public string MaxEventLead { get; set; } = "5s";
}

/// <summary>Checks <see cref="AggregationOptions"/> at start-up and says exactly what is wrong.</summary>
internal sealed class AggregationOptionsValidator : IValidateOptions<AggregationOptions>
{
    public ValidateOptionsResult Validate(string? name, AggregationOptions options)
    {
        var failures = new List<string>();
        var windows = options.Windows ?? [.. AggregationOptions.DefaultWindows];
        if (windows.Length == 0)
        {
            failures.Add("Aggregation:Windows is empty; leave it unset for the defaults (1m, 1h) or list window sizes such as 1m.");
        }

        var sizes = new HashSet<TimeSpan>();
        foreach (var window in windows)
        {
            if (!Durations.TryParse(window, out var size) || size < TimeSpan.FromSeconds(1))
            {
                failures.Add($"Aggregation:Windows entry '{window}' is not a window size of at least 1s (write 30s, 1m, 1h, 1d).");
            }
            else if (!sizes.Add(size))
            {
                failures.Add($"Aggregation:Windows lists the size {Durations.Format(size)} twice.");
            }
            else if (Durations.Format(size) == WindowNames.AllTime)
            {
                failures.Add($"Aggregation:Windows entry '{window}' collides with the all-time window name.");
            }
        }

        RequireDuration(failures, "Aggregation:Grace", options.Grace, TimeSpan.Zero, "0s or more");
        RequireDuration(failures, "Aggregation:DedupeWindow", options.DedupeWindow, TimeSpan.Zero, "0s (no dedupe) or more");
        RequireDuration(failures, "Aggregation:EmitInterval", options.EmitInterval, TimeSpan.FromMilliseconds(50), "at least 50ms");
        RequireDuration(failures, "Aggregation:MaxEventLead", options.MaxEventLead, TimeSpan.Zero, "0s or more");

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static void RequireDuration(List<string> failures, string key, string? value, TimeSpan minimum, string expectation)
    {
        if (!Durations.TryParse(value, out var duration))
        {
            failures.Add($"{key} '{value}' is not a duration (write 200ms, 30s, 1m, 1h or hh:mm:ss).");
        }
        else if (duration < minimum)
        {
            failures.Add($"{key} is {value}; it must be {expectation}.");
        }
    }
}
