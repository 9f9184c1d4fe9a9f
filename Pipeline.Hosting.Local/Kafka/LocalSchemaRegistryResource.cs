using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// The local mode's Schema Registry: a <see cref="LocalSchemaRegistry"/> hosted inside the AppHost
/// process. Its connection string (the URL) is known once it has started.
/// </summary>
public sealed class LocalSchemaRegistryResource(string name) : Resource(name), IResourceWithConnectionString
{
    private readonly TaskCompletionSource<LocalSchemaRegistry> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The running registry.</summary>
    public Task<LocalSchemaRegistry> Registry => _started.Task;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{new RegistryUrl(this)}");

    internal void Started(LocalSchemaRegistry registry) => _started.TrySetResult(registry);

    internal void FailedToStart(Exception exception) => _started.TrySetException(exception);

    private sealed class RegistryUrl(LocalSchemaRegistryResource resource) : IValueProvider, IManifestExpressionProvider
    {
        public string ValueExpression => $"{{{resource.Name}.connectionString}}";

        public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default) =>
            (await resource.Registry.WaitAsync(cancellationToken)).Url;
    }
}

/// <summary>Adds the local mode's Schema Registry to the app model.</summary>
public static class LocalSchemaRegistryBuilderExtensions
{
    /// <summary>
    /// Adds resource <paramref name="name"/>: a Schema Registry on 127.0.0.1 that lives in the
    /// AppHost process (<see cref="LocalSchemaRegistry"/>), healthy once <c>GET /subjects</c> answers.
    /// </summary>
    public static IResourceBuilder<LocalSchemaRegistryResource> AddLocalSchemaRegistry(this IDistributedApplicationBuilder builder, string name)
    {
        var resource = new LocalSchemaRegistryResource(name);
        var healthCheckKey = $"{name}-subjects";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey,
            _ => new LocalSchemaRegistryHealthCheck(resource),
            failureStatus: null,
            tags: null));

        return builder.AddResource(resource)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "LocalSchemaRegistry",
                State = KnownResourceStates.NotStarted,
                Properties = [new(CustomResourceKnownProperties.Source, "in-process Confluent Schema Registry API subset (in memory, BACKWARD, development and test only)")],
            })
            .WithHealthCheck(healthCheckKey)
            .OnInitializeResource(StartAsync);
    }

    private static async Task StartAsync(LocalSchemaRegistryResource resource, InitializeResourceEvent @event, CancellationToken cancellationToken)
    {
        try
        {
            await @event.Notifications.PublishUpdateAsync(resource, state => state with { State = KnownResourceStates.Starting });
            var registry = await LocalSchemaRegistry.StartAsync(cancellationToken: cancellationToken);
            @event.Logger.LogInformation(
                "Local Schema Registry listening on {Url}: register, schema by id, latest by subject and compatibility check of the Confluent REST API, Avro only, BACKWARD on every subject, in memory. Development and tests only.",
                registry.Url);
            @event.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(() => registry.DisposeAsync().AsTask().GetAwaiter().GetResult());
            resource.Started(registry);

            await @event.Eventing.PublishAsync(new ConnectionStringAvailableEvent(resource, @event.Services), cancellationToken);
            await @event.Notifications.PublishUpdateAsync(resource, state => state with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
                Properties = [.. state.Properties, new("schema-registry.url", registry.Url)],
            });
        }
        catch (Exception exception)
        {
            @event.Logger.LogError(exception, "The local Schema Registry failed to start.");
            resource.FailedToStart(exception);
            await @event.Notifications.PublishUpdateAsync(resource, state => state with { State = KnownResourceStates.FailedToStart });
        }
    }

    private sealed class LocalSchemaRegistryHealthCheck(LocalSchemaRegistryResource resource) : IHealthCheck
    {
        private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!resource.Registry.IsCompletedSuccessfully)
            {
                return HealthCheckResult.Unhealthy("The registry has not started.");
            }

            try
            {
                using var response = await Http.GetAsync(resource.Registry.Result.Url + "/subjects", cancellationToken);
                return response.IsSuccessStatusCode ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"GET /subjects answered {(int)response.StatusCode}.");
            }
            catch (HttpRequestException exception)
            {
                return HealthCheckResult.Unhealthy("GET /subjects failed.", exception);
            }
        }
    }
}
