namespace Pipeline.AppHost.Containers;

/// <summary>
/// Confluent's Schema Registry (<c>confluentinc/cp-schema-registry</c>) in a container, storing its
/// schemas in the broker's <c>_schemas</c> topic through the broker's internal listener. Host
/// processes reach it on the <c>http</c> endpoint as seen from the host; containers (Kafka UI) by
/// its name on the container network, so each reference is pinned to its network as
/// <see cref="KafkaContainerResource"/>'s are.
/// </summary>
public sealed class SchemaRegistryContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    internal const string HttpEndpointName = "http";
    internal const int HttpTargetPort = 8081;

    private EndpointReference? _primaryEndpoint;
    private EndpointReference? _internalEndpoint;

    /// <summary>The endpoint host processes (the services) use.</summary>
    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, HttpEndpointName, KnownNetworkIdentifiers.LocalhostNetwork);

    /// <summary>The endpoint other containers (Kafka UI) use.</summary>
    public EndpointReference InternalEndpoint => _internalEndpoint ??= new(this, HttpEndpointName, KnownNetworkIdentifiers.DefaultAspireContainerNetwork);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.Url)}");
}

/// <summary>Adds the Schema Registry container.</summary>
public static class SchemaRegistryContainerBuilderExtensions
{
    /// <summary>The path the registry is health-checked on: it answers once it has read its store topic.</summary>
    public const string HealthPath = "/subjects";

    /// <summary>
    /// Adds <paramref name="name"/>: <paramref name="image"/> (the Confluent Platform version of the
    /// broker's confluent-local), listening on 8081, its store on <paramref name="kafka"/>'s internal
    /// listener (<c>PLAINTEXT://kafka:9093</c>), BACKWARD compatibility by default, healthy when
    /// <c>GET /subjects</c> answers 200, started once the broker is healthy.
    /// </summary>
    public static IResourceBuilder<SchemaRegistryContainerResource> AddSchemaRegistryContainer(
        this IDistributedApplicationBuilder builder, string name, ContainerImage image, IResourceBuilder<KafkaContainerResource> kafka)
    {
        var registry = new SchemaRegistryContainerResource(name);
        return builder.AddResource(registry)
            .WithImage(image.Repository, image.Tag)
            .WithImageRegistry(image.Registry)
            .WithHttpEndpoint(targetPort: SchemaRegistryContainerResource.HttpTargetPort, name: SchemaRegistryContainerResource.HttpEndpointName)
            .WithEnvironment(context =>
            {
                var @internal = kafka.Resource.InternalEndpoint;
                context.EnvironmentVariables["SCHEMA_REGISTRY_HOST_NAME"] = name;
                context.EnvironmentVariables["SCHEMA_REGISTRY_LISTENERS"] = $"http://0.0.0.0:{SchemaRegistryContainerResource.HttpTargetPort}";
                context.EnvironmentVariables["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] = context.ExecutionContext.IsRunMode
                    // The name and port the broker advertises on its internal listener.
                    ? ReferenceExpression.Create($"PLAINTEXT://{kafka.Resource.Name}:{@internal.Property(EndpointProperty.TargetPort)}")
                    : ReferenceExpression.Create($"PLAINTEXT://{@internal.Property(EndpointProperty.HostAndPort)}");
                context.EnvironmentVariables["SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL"] = "backward";
            })
            .WithHttpHealthCheck(HealthPath, endpointName: SchemaRegistryContainerResource.HttpEndpointName)
            .WithParentRelationship(kafka)
            .WaitFor(kafka);
    }

    /// <summary>Shows <paramref name="registry"/>'s subjects in Kafka UI (kafbat's <c>KAFKA_CLUSTERS_{i}_SCHEMAREGISTRY</c>).</summary>
    public static IResourceBuilder<KafkaUiContainerResource> WithSchemaRegistry(
        this IResourceBuilder<KafkaUiContainerResource> kafkaUi, IResourceBuilder<SchemaRegistryContainerResource> registry, int index = 0) =>
        kafkaUi.WithEnvironment(context =>
            context.EnvironmentVariables[$"KAFKA_CLUSTERS_{index}_SCHEMAREGISTRY"] = context.ExecutionContext.IsRunMode
                ? ReferenceExpression.Create($"http://{registry.Resource.Name}:{registry.Resource.InternalEndpoint.Property(EndpointProperty.TargetPort)}")
                : ReferenceExpression.Create($"{registry.Resource.InternalEndpoint.Property(EndpointProperty.Url)}"));
}
