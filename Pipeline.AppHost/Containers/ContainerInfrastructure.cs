using Pipeline.AppHost.Infrastructure;
using Pipeline.Contracts;

namespace Pipeline.AppHost.Containers;

/// <summary>The <c>containers</c> mode: Kafka, Kafka UI, PostgreSQL and (Avro) the Schema Registry as containers, with per-app data volumes.</summary>
internal static class ContainerInfrastructure
{
    public static PipelineInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId, RecordFormat format)
    {
        var images = ContainerImages.From(builder.Configuration);

        var kafka = builder.AddKafkaContainer(ConnectionNames.Kafka, images.Kafka)
            .WithPipelineTopics(partitions, KafkaTopicProvisioner.BrokerDefaultReplicationFactor, applicationId);
        var kafkaUi = builder.AddKafkaUi("kafka-ui", images.KafkaUi, kafka);
        IResourceBuilder<SchemaRegistryContainerResource>? registry = null;
        if (format == RecordFormat.Avro)
        {
            registry = builder.AddSchemaRegistryContainer(ConnectionNames.SchemaRegistry, images.SchemaRegistry, kafka);
            kafkaUi.WithSchemaRegistry(registry);
        }

        var postgres = builder.AddPostgres("postgres");
        postgres.WithDataVolume(DataVolumeName(postgres));
        if (images.Postgres != ContainerImages.DefaultPostgres)
        {
            postgres.WithImage(images.Postgres.Repository, images.Postgres.Tag).WithImageRegistry(images.Postgres.Registry);
        }

        var database = postgres.AddDatabase(ConnectionNames.Database);

        return new(choice, builder.AsConnectionString(kafka), builder.AsConnectionString(database), applicationId)
        {
            RecordFormat = format,
            SchemaRegistry = registry is null ? null : builder.AsConnectionString(registry),
        };
    }

    /// <summary>
    /// The data volume of a resource. Run: named after the app and the resource, as upstream's
    /// <c>WithDataVolume()</c> names it, so two clones of the app on one machine never share data.
    /// Published: <c>{resource}-data</c>, the same whichever machine publishes (a deployment
    /// target holds one app).
    /// </summary>
    public static string DataVolumeName<T>(IResourceBuilder<T> resource)
        where T : IResource =>
        resource.ApplicationBuilder.ExecutionContext.IsPublishMode ? $"{resource.Resource.Name}-data" : VolumeNameGenerator.Generate(resource, "data");
}
