namespace Pipeline.AppHost.Containers;

/// <summary>
/// A single-broker KRaft Kafka in a container, doing what Aspire.Hosting.Kafka's
/// <c>KafkaServerResource</c> does (that package is not available here): port 9092 for host
/// processes, 9093 for other containers.
/// </summary>
/// <remarks>
/// Each endpoint reference is pinned to the network it is seen from, as upstream does. A
/// container's own environment is resolved from the container network; without the pin,
/// the broker's advertised host listener would name the container port (9092) instead of the
/// host port the services connect to, and every client would be sent where nothing listens.
/// </remarks>
public sealed class KafkaContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    internal const string InternalEndpointName = "internal";
    internal const int PrimaryTargetPort = 9092;
    internal const int InternalTargetPort = 9093;

    private EndpointReference? _primaryEndpoint;
    private EndpointReference? _internalEndpoint;

    /// <summary>The endpoint host processes connect to, always as seen from the host.</summary>
    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, PrimaryEndpointName, KnownNetworkIdentifiers.LocalhostNetwork);

    /// <summary>The endpoint other containers (Kafka UI) connect to, always as seen from the container network.</summary>
    public EndpointReference InternalEndpoint => _internalEndpoint ??= new(this, InternalEndpointName, KnownNetworkIdentifiers.DefaultAspireContainerNetwork);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}

/// <summary>Kafka UI (kafbat) pointed at a <see cref="KafkaContainerResource"/>.</summary>
public sealed class KafkaUiContainerResource(string name) : ContainerResource(name)
{
    internal const string HttpEndpointName = "http";
    internal const int HttpTargetPort = 8080;
}
