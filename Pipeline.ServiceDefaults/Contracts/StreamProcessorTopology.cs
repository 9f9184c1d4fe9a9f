namespace Pipeline.ServiceDefaults.Contracts;

/// <summary>
/// The names Streamiz derives its internal topics from. They live here because a broker
/// that cannot create topics on request (the local development broker) must create them up
/// front, before the stream processor starts.
/// </summary>
public static class StreamProcessorTopology
{
    /// <summary>The default Streamiz application id, which is also the consumer group id.</summary>
    public const string DefaultApplicationId = "pipeline-stream-processor";

    /// <summary>The processor's state stores; each is backed by a changelog topic.</summary>
    public static IReadOnlyList<string> StateStores { get; } = ["aggregates-store"];

    /// <summary>The changelog topic of a state store, as Streamiz names it.</summary>
    public static string ChangelogTopic(string applicationId, string store) => $"{applicationId}-{store}-changelog";

    /// <summary>Every internal topic of an application id; each needs as many partitions as <see cref="Topics.Events"/>.</summary>
    public static IEnumerable<string> InternalTopics(string applicationId) =>
        StateStores.Select(store => ChangelogTopic(applicationId, store));
}
