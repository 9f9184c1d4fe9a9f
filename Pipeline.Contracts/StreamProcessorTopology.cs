namespace Pipeline.Contracts;

/// <summary>
/// The names Streamiz derives its internal topics from. They live here because a broker
/// that cannot create topics on request (the local development broker) must create them up
/// front, before the stream processor starts. The processor reads only <see cref="Topics.Events"/>,
/// which is keyed by event key, so it has no repartition topics: its only internal topics are
/// the changelogs of its state stores.
/// </summary>
public static class StreamProcessorTopology
{
    /// <summary>The default Streamiz application id, which is also the consumer group id.</summary>
    public const string DefaultApplicationId = "pipeline-stream-processor";

    /// <summary>One record per event key: its open windows, all-time totals and the last source offset applied.</summary>
    public const string AggregatesStore = "aggregates-store";

    /// <summary>The event ids seen within the dedupe horizon, with the offset each was first seen at.</summary>
    public const string EventIdsStore = "event-ids-store";

    /// <summary>The processor's state stores; each is backed by a changelog topic.</summary>
    public static IReadOnlyList<string> StateStores { get; } = [AggregatesStore, EventIdsStore];

    /// <summary>The changelog topic of a state store, as Streamiz names it.</summary>
    public static string ChangelogTopic(string applicationId, string store) => $"{applicationId}-{store}-changelog";

    /// <summary>Every internal topic of an application id; each needs as many partitions as <see cref="Topics.Events"/>.</summary>
    public static IEnumerable<string> InternalTopics(string applicationId) =>
        StateStores.Select(store => ChangelogTopic(applicationId, store));
}
