using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>The Streamiz state of this instance, as the worker last saw it.</summary>
internal sealed class StreamProcessorStatus
{
    private volatile string _state = "CREATED";

    public string State => _state;

    public void Set(string state) => _state = state;
}

/// <summary>
/// Healthy while Streamiz is RUNNING. Starting and rebalancing are Degraded: they happen on every
/// clean start and failover, so they are logged at Warning rather than Error, yet /health still
/// answers 503 for them (StreamProcessorExtensions), so nothing waits on an instance that is not
/// processing. A stopped or failed Streamiz is Unhealthy.
/// </summary>
internal sealed class StreamProcessorHealthCheck(StreamProcessorStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = status.State;
        return Task.FromResult(state switch
        {
            "RUNNING" => HealthCheckResult.Healthy("Streamiz is RUNNING."),
            "CREATED" or "STARTING" or "REBALANCING" => HealthCheckResult.Degraded($"Streamiz is {state}, not RUNNING yet."),
            _ => HealthCheckResult.Unhealthy($"Streamiz is {state}, not RUNNING."),
        });
    }
}
