using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.Sink;

/// <summary>
/// What the sink worker is doing, as its health check reports it: whether writes to PostgreSQL
/// are failing (and since when), and how far behind the aggregates topic it is.
/// </summary>
internal sealed class SinkStatus
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _failingSince;
    private int _failedAttempts;
    private string? _lastError;
    private bool _running;
    private string? _stoppedBecause;
    private long _lag;

    public void Started()
    {
        lock (_gate)
        {
            _running = true;
            _stoppedBecause = null;
        }
    }

    public void Stopped(string? because)
    {
        lock (_gate)
        {
            _running = false;
            _stoppedBecause = because;
        }
    }

    public void WriteFailed(Exception exception, DateTimeOffset now)
    {
        lock (_gate)
        {
            _failingSince ??= now;
            _failedAttempts++;
            _lastError = exception.GetType().Name + ": " + exception.Message;
        }
    }

    public void WriteSucceeded()
    {
        lock (_gate)
        {
            _failingSince = null;
            _failedAttempts = 0;
            _lastError = null;
        }
    }

    public void LagMeasured(long lag)
    {
        lock (_gate)
        {
            _lag = lag;
        }
    }

    public HealthCheckResult ToHealth()
    {
        lock (_gate)
        {
            var data = new Dictionary<string, object>
            {
                ["lag"] = _lag,
                ["failedAttempts"] = _failedAttempts,
            };
            if (_stoppedBecause is not null)
            {
                return HealthCheckResult.Unhealthy($"The sink worker stopped: {_stoppedBecause}", data: data);
            }

            if (_failingSince is { } since)
            {
                data["failingSince"] = since;
                return HealthCheckResult.Unhealthy(
                    $"Storing a batch (the PostgreSQL write, or a dead letter) has failed since {since:O} ({_failedAttempts} attempts; the batch is retried, its offsets held): {_lastError}",
                    data: data);
            }

            return HealthCheckResult.Healthy(_running ? $"Consuming; lag {_lag} records." : "Starting.", data);
        }
    }
}

/// <summary>The sink's own health: Unhealthy while batches cannot be written or the worker has stopped.</summary>
internal sealed class SinkHealthCheck(SinkStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(status.ToHealth());
}
