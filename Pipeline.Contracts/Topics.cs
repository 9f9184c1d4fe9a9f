namespace Pipeline.Contracts;

/// <summary>The Kafka topics the pipeline's services talk through.</summary>
public static class Topics
{
    /// <summary>Accepted events, keyed by event key, produced by the API.</summary>
    public const string Events = "events";

    /// <summary>Aggregate updates, keyed by aggregate identity, produced by the stream processor.</summary>
    public const string Aggregates = "aggregates";

    /// <summary>Records a service could not handle, with headers saying why and where they came from.</summary>
    public const string DeadLetter = "dead-letter";

    /// <summary>The topics that must exist before any service starts.</summary>
    public static IReadOnlyList<string> All { get; } = [Events, Aggregates, DeadLetter];
}
