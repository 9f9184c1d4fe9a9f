using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.AppHost.Kafka;

namespace Pipeline.AppHost.Containers;

/// <summary>Adds Kafka and Kafka UI containers, the equivalent of Aspire.Hosting.Kafka.</summary>
public static class KafkaContainerBuilderExtensions
{
    /// <summary>
    /// Adds a Kafka container whose data lives in volume <paramref name="dataVolume"/>, with a
    /// health check that requires every topic in <paramref name="topics"/>; the topics are
    /// created through the Admin API once the broker answers.
    /// </summary>
    public static IResourceBuilder<KafkaContainerResource> AddKafkaContainer(
        this IDistributedApplicationBuilder builder, string name, string dataVolume, int partitions, IReadOnlyList<string> topics)
    {
        var kafka = new KafkaContainerResource(name);
        string? bootstrapServers = null;

        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(kafka, async (@event, cancellationToken) =>
        {
            bootstrapServers = await kafka.ConnectionStringExpression.GetValueAsync(cancellationToken);
        });

        var healthCheckKey = $"{name}-topics";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey,
            _ => new KafkaTopicsHealthCheck(() => bootstrapServers, topics, createWithPartitions: partitions),
            failureStatus: null,
            tags: null));

        return builder.AddResource(kafka)
            .WithImage(KafkaContainerImageTags.Image, KafkaContainerImageTags.Tag)
            .WithImageRegistry(KafkaContainerImageTags.Registry)
            .WithEndpoint(targetPort: KafkaContainerResource.PrimaryTargetPort, name: KafkaContainerResource.PrimaryEndpointName)
            .WithEndpoint(targetPort: KafkaContainerResource.InternalTargetPort, name: KafkaContainerResource.InternalEndpointName)
            .WithEnvironment("KAFKA_LISTENERS",
                "PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093")
            .WithEnvironment("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
                "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,PLAINTEXT_INTERNAL:PLAINTEXT")
            .WithEnvironment(context =>
            {
                var primary = kafka.PrimaryEndpoint;
                context.EnvironmentVariables["KAFKA_ADVERTISED_LISTENERS"] = ReferenceExpression.Create(
                    $"PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:{primary.Property(EndpointProperty.Port)},PLAINTEXT_INTERNAL://{name}:{KafkaContainerResource.InternalTargetPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            })
            .WithEnvironment("KAFKA_LOG_DIRS", "/var/lib/kafka/data")
            .WithVolume(dataVolume, "/var/lib/kafka/data")
            .WithHealthCheck(healthCheckKey);
    }

    /// <summary>Adds Kafka UI (kafbat) on its own container, wired to <paramref name="kafka"/> through the internal listener.</summary>
    public static IResourceBuilder<KafkaUiContainerResource> AddKafkaUi(
        this IDistributedApplicationBuilder builder, string name, IResourceBuilder<KafkaContainerResource> kafka)
    {
        return builder.AddResource(new KafkaUiContainerResource(name))
            .WithImage(KafkaContainerImageTags.KafkaUiImage, KafkaContainerImageTags.KafkaUiTag)
            .WithImageRegistry(KafkaContainerImageTags.Registry)
            .WithHttpEndpoint(targetPort: KafkaUiContainerResource.HttpTargetPort, name: KafkaUiContainerResource.HttpEndpointName)
            .WithEnvironment("KAFKA_CLUSTERS_0_NAME", kafka.Resource.Name)
            .WithEnvironment("KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS",
                $"{kafka.Resource.Name}:{KafkaContainerResource.InternalTargetPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
            .WithParentRelationship(kafka)
            .WaitFor(kafka)
            .ExcludeFromManifest();
    }
}
