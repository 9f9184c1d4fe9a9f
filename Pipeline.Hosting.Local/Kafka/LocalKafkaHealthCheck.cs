using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// Healthy while the local broker runs and accepts connections: Unhealthy before it has started
/// and while a dashboard command holds it down. Whether it serves the pipeline's topics is the
/// AppHost's check, the same in every mode.
/// </summary>
internal sealed class LocalKafkaHealthCheck(LocalKafkaResource resource) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(resource.Broker switch
        {
            { IsCompletedSuccessfully: false } => HealthCheckResult.Unhealthy("The broker has not started."),
            { Result.IsDown: true } => HealthCheckResult.Unhealthy("The broker is taken down: it refuses connections until it is brought up."),
            _ => HealthCheckResult.Healthy(),
        });
}
