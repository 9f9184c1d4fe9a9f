using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Healthy while the client's broker answers a metadata request; uses the client's own
/// connection, so it checks exactly what the client sees.
/// </summary>
internal sealed class KafkaClientHealthCheck(Handle clientHandle, string topic) : IHealthCheck, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly IAdminClient _admin = new DependentAdminClientBuilder(clientHandle).Build();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // GetMetadata blocks; the timeout bounds it well under any probe's own limit.
            var metadata = _admin.GetMetadata(topic, Timeout);
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
    }

    public void Dispose() => _admin.Dispose();
}
