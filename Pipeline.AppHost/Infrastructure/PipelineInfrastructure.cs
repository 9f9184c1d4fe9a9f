using Pipeline.Contracts;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>
/// The broker, database and (Avro) Schema Registry every service is wired to, named <c>kafka</c>,
/// <c>pipelinedb</c> and <c>schema-registry</c> in every mode, so that no service can tell the modes apart, and what a
/// mode asks of the services that use them. A service is given them with
/// <see cref="ServiceInfrastructureExtensions"/>.
/// </summary>
public sealed record PipelineInfrastructure(
    InfrastructureChoice Choice,
    IResourceBuilder<IResourceWithConnectionString> Kafka,
    IResourceBuilder<IResourceWithConnectionString> Database,
    string StreamProcessorApplicationId)
{
    /// <summary>The configuration key of the record format of the whole pipeline.</summary>
    public const string RecordFormatKey = "Pipeline:RecordFormat";

    /// <summary>The configuration key of the partition count of every pipeline topic.</summary>
    public const string PartitionsKey = "Pipeline:Partitions";

    /// <summary>The partition count when <see cref="PartitionsKey"/> is not set.</summary>
    public const int DefaultPartitions = 4;

    /// <summary>How every service writes and reads the topics (<see cref="RecordFormatKey"/>, Avro unless set).</summary>
    public RecordFormat RecordFormat { get; init; } = RecordFormat.Json;

    /// <summary>The Schema Registry (<c>schema-registry</c>) with the Avro format; null with JSON.</summary>
    public IResourceBuilder<IResourceWithConnectionString>? SchemaRegistry { get; init; }

    /// <summary>What every Kafka client of the mode needs beyond the connection string (security, timings).</summary>
    public Action<IResourceBuilder<ProjectResource>>? ConfigureKafkaClients { get; init; }

    /// <summary>The API's backlog bound the broker's real limits call for; <see langword="null"/>: the API's own default.</summary>
    public long? BacklogRecordsPerPartition { get; init; }

    /// <summary>Where the stream processor must keep its state to outlive the broker's changelog tail; <see langword="null"/>: its own setting.</summary>
    public string? ProcessorStateDirectory { get; init; }
}
