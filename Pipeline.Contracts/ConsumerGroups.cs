namespace Pipeline.Contracts;

/// <summary>
/// The consumer groups that read the pipeline's topics. The API watches their progress to hold
/// back new events while they are behind (backpressure), so their default names live here.
/// </summary>
public static class ConsumerGroups
{
    /// <summary>Reads <see cref="Topics.Events"/>: the stream processor's Streamiz application id.</summary>
    public const string StreamProcessor = StreamProcessorTopology.DefaultApplicationId;

    /// <summary>Reads <see cref="Topics.Aggregates"/>: the sink.</summary>
    public const string Sink = "pipeline-sink";
}
