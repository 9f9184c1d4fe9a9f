namespace Pipeline.AppHost.Infrastructure;

/// <summary>
/// The broker and database every service is wired to, named <c>kafka</c> and
/// <c>pipelinedb</c> in every mode, so that no service can tell the modes apart, and what a
/// mode asks of the services that use them. A service is given them with
/// <see cref="ServiceInfrastructureExtensions"/>.
/// </summary>
public sealed record PipelineInfrastructure(
    InfrastructureChoice Choice,
    IResourceBuilder<IResourceWithConnectionString> Kafka,
    IResourceBuilder<IResourceWithConnectionString> Database,
    string StreamProcessorApplicationId)
{
    /// <summary>The configuration key of the partition count of every pipeline topic.</summary>
    public const string PartitionsKey = "Pipeline:Partitions";

    /// <summary>The partition count when <see cref="PartitionsKey"/> is not set.</summary>
    public const int DefaultPartitions = 4;

    /// <summary>What every Kafka client of the mode needs beyond the connection string (security, timings).</summary>
    public Action<IResourceBuilder<ProjectResource>>? ConfigureKafkaClients { get; init; }

    /// <summary>The API's backlog bound the broker's real limits call for; <see langword="null"/>: the API's own default.</summary>
    public long? BacklogRecordsPerPartition { get; init; }

    /// <summary>Where the stream processor must keep its state to outlive the broker's changelog tail; <see langword="null"/>: its own setting.</summary>
    public string? ProcessorStateDirectory { get; init; }
}
