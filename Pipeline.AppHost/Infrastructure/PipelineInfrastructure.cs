using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.AppHost.Containers;
using Pipeline.AppHost.External;
using Pipeline.AppHost.Kafka;
using Pipeline.AppHost.Postgres;
using Pipeline.Contracts;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>
/// The broker and database every service is wired to, named <c>kafka</c> and
/// <c>pipelinedb</c> in every mode, so that no service can tell the modes apart.
/// </summary>
public sealed record PipelineInfrastructure(
    InfrastructureChoice Choice,
    IResourceBuilder<IResourceWithConnectionString> Kafka,
    IResourceBuilder<IResourceWithConnectionString> Database,
    string StreamProcessorApplicationId,
    string? ProcessorStateDirectory = null)
{
    /// <summary>The configuration key of the record format of the whole pipeline.</summary>
    public const string RecordFormatKey = "Pipeline:RecordFormat";

    /// <summary>How every service writes and reads the topics (<see cref="RecordFormatKey"/>, Avro unless set).</summary>
    public RecordFormat RecordFormat { get; init; } = RecordFormat.Json;

    /// <summary>The Schema Registry (<c>schema-registry</c>) with the Avro format; null with JSON.</summary>
    public IResourceBuilder<IResourceWithConnectionString>? SchemaRegistry { get; init; }

    /// <summary>
    /// Gives a service its broker: the connection string, a wait until the broker serves the
    /// pipeline's topics, and the client settings the mode needs; and the record format, with the
    /// Schema Registry's connection string and a wait for it when the format is Avro. The local broker holds every
    /// fetch for the consumer's full <c>fetch.wait.max.ms</c> even when records are waiting
    /// (a real broker answers as soon as there is data), so local consumers ask for a short one.
    /// </summary>
    public IResourceBuilder<ProjectResource> ConnectToKafka(IResourceBuilder<ProjectResource> service)
    {
        service.WithReference(Kafka).WaitFor(Kafka)
            .WithEnvironment("Kafka__RecordFormat", RecordFormat.ToString());
        if (SchemaRegistry is { } registry)
        {
            service.WithReference(registry).WaitFor(registry);
        }

        if (Choice.Mode == InfrastructureMode.External)
        {
            ExternalInfrastructure.ForwardSecurity(service);
            ExternalInfrastructure.ForwardSchemaRegistryAuth(service);
        }

        if (Choice.Mode == InfrastructureMode.Local)
        {
            service.WithEnvironment("Kafka__Consumer__fetch.wait.max.ms", "10");
        }

        return service;
    }

    /// <summary>
    /// Holds back new events at the API while the pipeline is too far behind for the broker to keep
    /// what waits. With the local broker the bound follows its real limits
    /// (<see cref="LocalKafkaBroker.SafeBacklogRecordsPerPartition"/>); elsewhere the API's own
    /// default (<c>Ingest:Backlog:MaxRecordsPerPartition</c>) applies.
    /// </summary>
    public IResourceBuilder<ProjectResource> WithBackpressure(IResourceBuilder<ProjectResource> api) =>
        Choice.Mode == InfrastructureMode.Local
            ? api.WithEnvironment("Ingest__Backlog__MaxRecordsPerPartition",
                LocalKafkaBroker.SafeBacklogRecordsPerPartition.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : api;

    /// <summary>
    /// Keeps the stream processor's state where the broker cannot drop it: with the local broker
    /// (which keeps only the newest 5 MiB of each changelog partition) in RocksDB stores in a
    /// directory that lives as long as the broker (<see cref="LocalProcessorStateDirectory"/>).
    /// A real broker compacts the changelogs, so elsewhere the processor's own setting applies.
    /// </summary>
    public IResourceBuilder<ProjectResource> WithDurableState(IResourceBuilder<ProjectResource> processor) =>
        ProcessorStateDirectory is { } directory
            ? processor
                .WithEnvironment("StreamProcessor__StateStore", "RocksDb")
                .WithEnvironment("StreamProcessor__StateDirectory", directory)
            : processor;

    /// <summary>The configuration key of the partition count of every pipeline topic.</summary>
    public const string PartitionsKey = "Pipeline:Partitions";

    /// <summary>The partition count when <see cref="PartitionsKey"/> is not set.</summary>
    public const int DefaultPartitions = 4;
}

/// <summary>Adds Kafka and PostgreSQL the way <c>Pipeline:Infrastructure</c> says.</summary>
public static class PipelineInfrastructureExtensions
{
    /// <summary>
    /// Resolves the infrastructure mode (logging which and why when the app starts) and adds
    /// <c>kafka</c>, <c>postgres</c> and <c>pipelinedb</c> (plus <c>kafka-ui</c> with containers).
    /// </summary>
    public static PipelineInfrastructure AddPipelineInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var format = builder.Configuration.GetValue(PipelineInfrastructure.RecordFormatKey, RecordFormat.Avro);
        var choice = InfrastructureChoice.Resolve(builder.Configuration[InfrastructureChoice.SettingKey], InfrastructureChoice.ProbeContainerRuntime,
            runtime => InfrastructureChoice.ImagesNotPresent(runtime, ContainerImages.From(builder.Configuration).For(format).Select(image => image.ToString())),
            builder.ExecutionContext.IsPublishMode);
        var partitions = builder.Configuration.GetValue(PipelineInfrastructure.PartitionsKey, PipelineInfrastructure.DefaultPartitions);
        if (partitions < 1)
        {
            throw new InvalidOperationException($"{PipelineInfrastructure.PartitionsKey} must be at least 1; it is {partitions}.");
        }

        var applicationId = StreamProcessorTopology.DefaultApplicationId;

        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.AppHost")
                .LogInformation("Infrastructure mode: {Mode} ({Reason}). Record format: {RecordFormat}.", choice.Mode, choice.Reason, format);
            return Task.CompletedTask;
        });

        return choice.Mode switch
        {
            InfrastructureMode.Containers => ContainerInfrastructure.Add(builder, choice, partitions, applicationId, format),
            InfrastructureMode.External => ExternalInfrastructure.Add(builder, choice, partitions, applicationId, format),
            _ => AddLocal(builder, choice, partitions, applicationId, format),
        };
    }

    private static PipelineInfrastructure AddLocal(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId, RecordFormat format)
    {
        // The local broker cannot create topics on request, so Streamiz's internal topics are made up front too.
        IReadOnlyList<string> topics = [.. Topics.All, .. StreamProcessorTopology.InternalTopics(applicationId)];
        var kafka = builder.AddLocalKafka(ConnectionNames.Kafka, partitions, topics);
        var database = builder.AddLocalPostgres("postgres").AddDatabase(ConnectionNames.Database);
        var processorState = LocalProcessorStateDirectory.Create(builder);

        return new(choice, AsConnectionString(builder, kafka), AsConnectionString(builder, database), applicationId, processorState)
        {
            RecordFormat = format,
            SchemaRegistry = format == RecordFormat.Avro ? AsConnectionString(builder, builder.AddLocalSchemaRegistry(ConnectionNames.SchemaRegistry)) : null,
        };
    }

    private static IResourceBuilder<IResourceWithConnectionString> AsConnectionString<T>(IDistributedApplicationBuilder builder, IResourceBuilder<T> resource)
        where T : IResourceWithConnectionString =>
        builder.CreateResourceBuilder<IResourceWithConnectionString>(resource.Resource);
}
