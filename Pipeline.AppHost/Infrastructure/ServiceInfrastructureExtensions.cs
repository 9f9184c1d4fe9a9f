using System.Globalization;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>Wires a service to the pipeline's infrastructure, whichever the mode.</summary>
public static class ServiceInfrastructureExtensions
{
    /// <summary>
    /// Gives a service its broker: the connection string, a wait until the broker serves the
    /// pipeline's topics, and the client settings the mode needs
    /// (<see cref="PipelineInfrastructure.ConfigureKafkaClients"/>); and the record format, with the
    /// Schema Registry's connection string and a wait for it when the format is Avro.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithKafka(this IResourceBuilder<ProjectResource> service, PipelineInfrastructure infrastructure)
    {
        service.WithReference(infrastructure.Kafka).WaitFor(infrastructure.Kafka)
            .WithEnvironment("Kafka__RecordFormat", infrastructure.RecordFormat.ToString());
        if (infrastructure.SchemaRegistry is { } registry)
        {
            service.WithReference(registry).WaitFor(registry);
        }

        infrastructure.ConfigureKafkaClients?.Invoke(service);
        return service;
    }

    /// <summary>Gives a service the database <c>pipelinedb</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithDatabase(this IResourceBuilder<ProjectResource> service, PipelineInfrastructure infrastructure) =>
        service.WithReference(infrastructure.Database);

    /// <summary>
    /// Holds back new events at the API while the pipeline is too far behind for the broker to keep
    /// what waits: with the bound the mode's broker calls for
    /// (<see cref="PipelineInfrastructure.BacklogRecordsPerPartition"/>), else the API's own
    /// default (<c>Ingest:Backlog:MaxRecordsPerPartition</c>).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithBackpressure(this IResourceBuilder<ProjectResource> api, PipelineInfrastructure infrastructure) =>
        infrastructure.BacklogRecordsPerPartition is { } bound
            ? api.WithEnvironment("Ingest__Backlog__MaxRecordsPerPartition", bound.ToString(CultureInfo.InvariantCulture))
            : api;

    /// <summary>
    /// Keeps the stream processor's state where the broker cannot drop it
    /// (<see cref="PipelineInfrastructure.ProcessorStateDirectory"/>, in RocksDB stores), and names
    /// its application id, which its changelog topics are named after.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithProcessorState(this IResourceBuilder<ProjectResource> processor, PipelineInfrastructure infrastructure)
    {
        processor.WithEnvironment("StreamProcessor__ApplicationId", infrastructure.StreamProcessorApplicationId);
        return infrastructure.ProcessorStateDirectory is { } directory
            ? processor
                .WithEnvironment("StreamProcessor__StateStore", "RocksDb")
                .WithEnvironment("StreamProcessor__StateDirectory", directory)
            : processor;
    }
}
