using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pipeline.AppHost.Kafka;

/// <summary>
/// Healthy when the broker answers and serves every pipeline topic: the services that wait
/// for Kafka may use any of them as soon as they start. Given a partition count, it creates
/// the missing topics through the Admin API first (a real broker supports that; the local
/// one creates its topics itself).
/// </summary>
internal sealed class KafkaTopicsHealthCheck(Func<string?> bootstrapServers, IReadOnlyList<string> topics, int? createWithPartitions = null)
    : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var servers = bootstrapServers();
        if (servers is null)
        {
            return HealthCheckResult.Unhealthy("The broker has not started.");
        }

        // librdkafka reports every failed attempt itself; the health check says what matters.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = servers, SocketTimeoutMs = 3000 })
            .SetLogHandler((_, _) => { })
            .Build();
        try
        {
            // GetMetadata blocks; run it off the caller's thread.
            var metadata = await Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(3)), cancellationToken);
            var missing = topics.Except(metadata.Topics.Where(t => !t.Error.IsError).Select(t => t.Topic)).ToList();
            if (missing.Count == 0)
            {
                return HealthCheckResult.Healthy();
            }

            if (createWithPartitions is { } partitions)
            {
                await admin.CreateTopicsAsync(missing.Select(topic => new TopicSpecification
                {
                    Name = topic,
                    NumPartitions = partitions,
                    ReplicationFactor = 1,
                }));
                return HealthCheckResult.Unhealthy($"Created topics {string.Join(", ", missing)}; waiting for them to be served.");
            }

            return HealthCheckResult.Unhealthy($"Topics missing: {string.Join(", ", missing)}.");
        }
        catch (CreateTopicsException exception) when (exception.Results.All(r => r.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists))
        {
            return HealthCheckResult.Unhealthy("Topics are being created.");
        }
        catch (KafkaException exception)
        {
            return HealthCheckResult.Unhealthy("The broker did not answer a metadata request.", exception);
        }
    }
}
