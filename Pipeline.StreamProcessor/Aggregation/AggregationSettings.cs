using Pipeline.StreamProcessor.Configuration;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>One tumbling window size: its length and the name aggregates carry (<c>1m</c>).</summary>
internal sealed record WindowSize(long Milliseconds, string Name)
{
    /// <summary>The start of the window an event time falls in; windows are aligned to the epoch and half-open.</summary>
    public long StartOf(long timestampMs) => timestampMs - (timestampMs % Milliseconds);
}

/// <summary>The validated, parsed form of <see cref="AggregationOptions"/> that the topology runs with.</summary>
internal sealed record AggregationSettings(
    IReadOnlyList<WindowSize> Windows,
    TimeSpan Grace,
    TimeSpan DedupeWindow,
    TimeSpan EmitInterval,
    TimeSpan MaxEventLead)
{
    /// <summary>
    /// How often the processor's punctuator runs: it emits what the last commit made durable and
    /// closes windows. A tenth of the emit interval keeps it well inside the bound at little cost.
    /// </summary>
    public TimeSpan PunctuationInterval => TimeSpan.FromMilliseconds(Math.Clamp(EmitInterval.TotalMilliseconds / 10, 10, 100));

    public static AggregationSettings Default { get; } = From(new AggregationOptions());

    /// <summary>Parses options that <see cref="AggregationOptionsValidator"/> accepted.</summary>
    public static AggregationSettings From(AggregationOptions options)
    {
        var failures = new AggregationOptionsValidator().Validate(null, options);
        if (failures.Failed)
        {
            throw new InvalidOperationException(failures.FailureMessage);
        }

        var windows = (options.Windows ?? [.. AggregationOptions.DefaultWindows])
            .Select(window => Durations.TryParse(window, out var size) ? size : throw new InvalidOperationException(window))
            .OrderBy(size => size)
            .Select(size => new WindowSize((long)size.TotalMilliseconds, Durations.Format(size)))
            .ToArray();

        return new AggregationSettings(
            windows,
            Parse(options.Grace),
            Parse(options.DedupeWindow),
            Parse(options.EmitInterval),
            Parse(options.MaxEventLead));
    }

    private static TimeSpan Parse(string value) =>
        Durations.TryParse(value, out var duration) ? duration : throw new InvalidOperationException(value);
}
