using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>The Streamiz state of this instance, as the worker last saw it.</summary>
internal sealed class StreamProcessorStatus
{
    private volatile string _state = "CREATED";

    public string State => _state;

    public void Set(string state) => _state = state;
}

/// <summary>Healthy while Streamiz is RUNNING; anything else (starting, rebalancing, failed) is reported as it is.</summary>
internal sealed class StreamProcessorHealthCheck(StreamProcessorStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = status.State;
        return Task.FromResult(state == "RUNNING"
            ? HealthCheckResult.Healthy("Streamiz is RUNNING.")
            : HealthCheckResult.Unhealthy($"Streamiz is {state}, not RUNNING."));
    }
}
