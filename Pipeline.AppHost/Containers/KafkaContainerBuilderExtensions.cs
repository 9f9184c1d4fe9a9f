namespace Pipeline.AppHost.Containers;

/// <summary>Adds Kafka and Kafka UI containers, the equivalent of Aspire.Hosting.Kafka.</summary>
public static class KafkaContainerBuilderExtensions
{
    /// <summary>
    /// Adds a single-broker Kafka container whose data lives in its own volume
    /// (<see cref="ContainerInfrastructure.DataVolumeName"/>).
    /// </summary>
    public static IResourceBuilder<KafkaContainerResource> AddKafkaContainer(
        this IDistributedApplicationBuilder builder, string name, ContainerImage image)
    {
        var kafka = new KafkaContainerResource(name);
        var resource = builder.AddResource(kafka)
            .WithImage(image.Repository, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithEndpoint(targetPort: KafkaContainerResource.PrimaryTargetPort, name: KafkaContainerResource.PrimaryEndpointName)
            .WithEndpoint(targetPort: KafkaContainerResource.InternalTargetPort, name: KafkaContainerResource.InternalEndpointName)
            .WithEnvironment(context => KafkaListeners.Configure(context, kafka))
            .WithEnvironment("KAFKA_LOG_DIRS", KafkaListeners.DataDirectory);
        return resource.WithVolume(ContainerInfrastructure.DataVolumeName(resource), KafkaListeners.DataDirectory);
    }

    /// <summary>Adds Kafka UI (kafbat) on its own container, wired to <paramref name="kafka"/> through the internal listener.</summary>
    public static IResourceBuilder<KafkaUiContainerResource> AddKafkaUi(
        this IDistributedApplicationBuilder builder, string name, ContainerImage image, IResourceBuilder<KafkaContainerResource> kafka)
    {
        return builder.AddResource(new KafkaUiContainerResource(name))
            .WithImage(image.Repository, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(targetPort: KafkaUiContainerResource.HttpTargetPort, name: KafkaUiContainerResource.HttpEndpointName)
            .WithEnvironment(context => KafkaListeners.ConfigureKafkaUi(context, kafka.Resource, index: 0))
            .WithParentRelationship(kafka)
            .WaitFor(kafka)
            .ExcludeFromManifest();
    }
}
