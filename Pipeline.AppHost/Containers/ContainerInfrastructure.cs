using Pipeline.AppHost.Infrastructure;
using Pipeline.Contracts;

namespace Pipeline.AppHost.Containers;

/// <summary>The <c>containers</c> mode: Kafka, Kafka UI and PostgreSQL as containers, with per-app data volumes.</summary>
internal static class ContainerInfrastructure
{
    public static PipelineInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId)
    {
        var images = ContainerImages.From(builder.Configuration);

        var kafka = builder.AddKafkaContainer(ConnectionNames.Kafka, images.Kafka)
            .WithPipelineTopics(partitions, KafkaTopicProvisioner.BrokerDefaultReplicationFactor, applicationId);
        builder.AddKafkaUi("kafka-ui", images.KafkaUi, kafka);

        var postgres = builder.AddPostgres("postgres");
        postgres.WithDataVolume(DataVolumeName(postgres));
        if (images.Postgres != ContainerImages.DefaultPostgres)
        {
            postgres.WithImage(images.Postgres.Repository, images.Postgres.Tag).WithImageRegistry(images.Postgres.Registry);
        }

        var database = postgres.AddDatabase(ConnectionNames.Database);

        return new(choice, builder.AsConnectionString(kafka), builder.AsConnectionString(database), applicationId);
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
