using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Healthy while the client's broker answers a metadata request; uses the client's own
/// connection, so it checks exactly what the client sees. The client may change (a producer
/// renewed after a fatal error): the check follows <paramref name="clientHandle"/>.
/// </summary>
internal sealed class KafkaClientHealthCheck(Func<Handle> clientHandle, string topic) : IHealthCheck, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly Lock _gate = new();
    private Handle? _checkedHandle;
    private IAdminClient? _admin;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // GetMetadata blocks; the timeout bounds it well under any probe's own limit.
            var metadata = AdminFor(clientHandle()).GetMetadata(topic, Timeout);
            var topicMetadata = metadata.Topics.FirstOrDefault();
            if (metadata.Brokers.Count == 0 || topicMetadata is null || topicMetadata.Error.IsError)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy(
                    $"The broker does not serve topic '{topic}': {topicMetadata?.Error.Reason ?? "no brokers"}."));
            }

            return Task.FromResult(HealthCheckResult.Healthy());
        }
        catch (KafkaException exception)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The broker did not answer a metadata request.", exception));
        }
        catch (ObjectDisposedException exception)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The client was replaced or is stopping.", exception));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _admin?.Dispose();
            _admin = null;
        }
    }

    private IAdminClient AdminFor(Handle handle)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(handle, _checkedHandle))
            {
                _admin?.Dispose();
                _admin = new DependentAdminClientBuilder(handle).Build();
                _checkedHandle = handle;
            }

            return _admin!;
        }
    }
}
