using Pipeline.AppHost.Infrastructure;
using Pipeline.ServiceDefaults.Contracts;

namespace Pipeline.AppHost.Containers;

/// <summary>The <c>containers</c> mode: Kafka, Kafka UI and PostgreSQL as containers, with per-app data volumes.</summary>
internal static class ContainerInfrastructure
{
    public static PipelineInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId)
    {
        var images = ContainerImages.From(builder.Configuration);

        // A real broker creates Streamiz's internal topics on request; only the pipeline's own are made here.
        var kafka = builder.AddKafkaContainer("kafka", images.Kafka, partitions, Topics.All);
        builder.AddKafkaUi("kafka-ui", images.KafkaUi, kafka);

        // The data volume is named after the app and the resource (upstream's default), so two
        // clones of the app on one machine do not share a database.
        var postgres = builder.AddPostgres("postgres").WithDataVolume();
        if (images.Postgres != ContainerImages.DefaultPostgres)
        {
            postgres.WithImage(images.Postgres.Repository, images.Postgres.Tag).WithImageRegistry(images.Postgres.Registry);
        }

        var database = postgres.AddDatabase("pipelinedb");

        return new(choice, AsConnectionString(builder, kafka), AsConnectionString(builder, database), applicationId);
    }

    private static IResourceBuilder<IResourceWithConnectionString> AsConnectionString<T>(IDistributedApplicationBuilder builder, IResourceBuilder<T> resource)
        where T : IResourceWithConnectionString =>
        builder.CreateResourceBuilder<IResourceWithConnectionString>(resource.Resource);
}
