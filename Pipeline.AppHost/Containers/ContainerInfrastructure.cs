using Pipeline.AppHost.Infrastructure;
using Pipeline.Contracts;

namespace Pipeline.AppHost.Containers;

/// <summary>The <c>containers</c> mode: Kafka, Kafka UI, PostgreSQL and (Avro) the Schema Registry as containers, with per-app data volumes.</summary>
internal static class ContainerInfrastructure
{
    public static PipelineInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId, RecordFormat format)
    {
        var images = ContainerImages.From(builder.Configuration);

        // A real broker creates Streamiz's internal topics on request; only the pipeline's own are made here.
        var kafka = builder.AddKafkaContainer(ConnectionNames.Kafka, images.Kafka, partitions, Topics.All);
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

        return new(choice, AsConnectionString(builder, kafka), AsConnectionString(builder, database), applicationId)
        {
            RecordFormat = format,
            SchemaRegistry = registry is null ? null : AsConnectionString(builder, registry),
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

    private static IResourceBuilder<IResourceWithConnectionString> AsConnectionString<T>(IDistributedApplicationBuilder builder, IResourceBuilder<T> resource)
        where T : IResourceWithConnectionString =>
        builder.CreateResourceBuilder<IResourceWithConnectionString>(resource.Resource);
}
