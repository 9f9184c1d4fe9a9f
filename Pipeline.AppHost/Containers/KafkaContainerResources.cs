namespace Pipeline.AppHost.Containers;

/// <summary>
/// A single-broker KRaft Kafka in a container, doing what Aspire.Hosting.Kafka does (that
/// package is not available here): port 9092 for the host, 9093 for other containers.
/// </summary>
public sealed class KafkaContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    internal const string InternalEndpointName = "internal";
    internal const int PrimaryTargetPort = 9092;
    internal const int InternalTargetPort = 9093;

    /// <summary>The endpoint host processes connect to.</summary>
    public EndpointReference PrimaryEndpoint => new(this, PrimaryEndpointName);

    /// <summary>The endpoint other containers (Kafka UI) connect to, by container name.</summary>
    public EndpointReference InternalEndpoint => new(this, InternalEndpointName);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{PrimaryEndpoint.Property(EndpointProperty.Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}

/// <summary>Kafka UI (kafbat) pointed at one or more <see cref="KafkaContainerResource"/>.</summary>
public sealed class KafkaUiContainerResource(string name) : ContainerResource(name)
{
    internal const string HttpEndpointName = "http";
    internal const int HttpTargetPort = 8080;
}

/// <summary>The images, pinned.</summary>
internal static class KafkaContainerImageTags
{
    public const string Registry = "docker.io";
    public const string Image = "confluentinc/confluent-local";
    public const string Tag = "8.1.0";
    public const string KafkaUiImage = "kafbat/kafka-ui";
    public const string KafkaUiTag = "v1.4.0";
}
