namespace Pipeline.Tests.AppHost;

/// <summary>
/// Resolves a resource's environment the way the orchestrator does, without starting
/// anything: endpoints are given the addresses DCP would allocate on each network, and each
/// value is resolved from a chosen network (a container's own values from the container
/// network, a host process's from the host).
/// </summary>
internal static class ResolvedEnvironment
{
    public static readonly NetworkIdentifier Host = KnownNetworkIdentifiers.LocalhostNetwork;
    public static readonly NetworkIdentifier ContainerNetwork = KnownNetworkIdentifiers.DefaultAspireContainerNetwork;

    /// <summary>
    /// Allocates endpoint <paramref name="endpointName"/> of <paramref name="resource"/> as DCP
    /// does for a container: <c>localhost:{hostPort}</c> seen from the host, and
    /// <c>{containerHost}:{targetPort}</c> seen from the container network.
    /// </summary>
    public static void Allocate(IResource resource, string endpointName, int hostPort, string containerHost)
    {
        var endpoint = resource.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == endpointName);
        endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "localhost", hostPort);
        var targetPort = endpoint.TargetPort ?? hostPort;
        endpoint.AllAllocatedEndpoints.AddOrUpdateAllocatedEndpoint(ContainerNetwork,
            new AllocatedEndpoint(endpoint, containerHost, targetPort, EndpointBindingMode.SingleAddress,
                targetPortExpression: targetPort.ToString(System.Globalization.CultureInfo.InvariantCulture), ContainerNetwork));
    }

    /// <summary>Every environment value of <paramref name="resource"/>, each resolved as seen from <paramref name="network"/>.</summary>
    public static async Task<Dictionary<string, string>> FromNetworkAsync(
        IResource resource, DistributedApplicationExecutionContext executionContext, NetworkIdentifier network)
    {
        var values = await CallbackValuesAsync(resource, executionContext);
        var resolved = new Dictionary<string, string>();
        var context = new ValueProviderContext { ExecutionContext = executionContext, Caller = resource, Network = network };
        foreach (var (key, value) in values)
        {
            resolved[key] = value switch
            {
                string text => text,
                IValueProvider provider => await provider.GetValueAsync(context) ?? "",
                var other => other.ToString() ?? "",
            };
        }

        return resolved;
    }

    /// <summary>The environment exactly as the orchestrator's own gatherer resolves it for the resource.</summary>
    public static async Task<Dictionary<string, string>> AsOrchestratedAsync(IResource resource, DistributedApplicationExecutionContext executionContext)
    {
        var configuration = await ExecutionConfigurationBuilder.Create(resource)
            .WithEnvironmentVariablesConfig()
            .BuildAsync(executionContext, NullLogger.Instance, CancellationToken.None);
        if (configuration.Exception is not null)
        {
            throw configuration.Exception;
        }

        return configuration.EnvironmentVariables.ToDictionary();
    }

    /// <summary>The environment as the manifest states it: literal values, and references as <c>{resource.property}</c> expressions.</summary>
    public static async Task<Dictionary<string, string>> AsPublishedAsync(IResource resource)
    {
        var values = await CallbackValuesAsync(resource, new DistributedApplicationExecutionContext(DistributedApplicationOperation.Publish));
        return values.ToDictionary(pair => pair.Key, pair => pair.Value switch
        {
            string text => text,
            IManifestExpressionProvider expression => expression.ValueExpression,
            var other => other.ToString() ?? "",
        });
    }

    private static async Task<Dictionary<string, object>> CallbackValuesAsync(IResource resource, DistributedApplicationExecutionContext executionContext)
    {
        var values = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(executionContext, resource, values);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return values;
    }
}
