using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.AppHost.Kafka;

/// <summary>
/// Healthy when the broker answers and serves every pipeline topic: the services that wait
/// for Kafka may use any of them as soon as they start.
/// </summary>
internal sealed class KafkaTopicsHealthCheck(Func<string?> bootstrapServers, IReadOnlyList<string> topics) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var servers = bootstrapServers();
        if (servers is null)
        {
            return HealthCheckResult.Unhealthy("The broker has not started.");
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = servers, SocketTimeoutMs = 3000 }).Build();
        try
        {
            // GetMetadata blocks; run it off the caller's thread.
            var metadata = await Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(3)), cancellationToken);
            var missing = topics.Except(metadata.Topics.Where(t => !t.Error.IsError).Select(t => t.Topic)).ToList();
            return missing.Count == 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"Topics missing: {string.Join(", ", missing)}.");
        }
        catch (KafkaException exception)
        {
            return HealthCheckResult.Unhealthy("The broker did not answer a metadata request.", exception);
        }
    }
}
