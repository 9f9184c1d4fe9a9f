using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>The pipeline's topics on a Kafka resource, the same way in every mode.</summary>
public static class KafkaTopicsBuilderExtensions
{
    /// <summary>
    /// Creates the pipeline's topics and the stream processor's changelogs on
    /// <paramref name="kafka"/> when they are missing, and holds every service that waits for it
    /// until the cluster serves them, each fitting the pipeline (<see cref="KafkaTopicProvisioner"/>).
    /// It runs as the resource's health check, so it is retried until the cluster answers, and a
    /// topic that does not fit is shown on the resource in the dashboard.
    /// </summary>
    public static IResourceBuilder<T> WithPipelineTopics<T>(
        this IResourceBuilder<T> kafka, int partitions, short replicationFactor, string applicationId,
        IReadOnlyDictionary<string, string>? clientSettings = null)
        where T : IResourceWithConnectionString
    {
        var healthCheckKey = $"{kafka.Resource.Name}-topics";
        kafka.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey,
            services => new KafkaTopicsHealthCheck(
                async cancellationToken => await BootstrapServersAsync(kafka.Resource, cancellationToken) is { } bootstrapServers
                    ? new KafkaTopicProvisioner(
                        new Dictionary<string, string>(clientSettings ?? new Dictionary<string, string>()) { ["bootstrap.servers"] = bootstrapServers },
                        partitions, replicationFactor, applicationId)
                    : null,
                services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.AppHost.KafkaTopics")),
            failureStatus: null,
            tags: null));
        return kafka.WithHealthCheck(healthCheckKey);
    }

    // Known once the resource runs (the local broker has started, the container's port is allocated).
    private static async Task<string?> BootstrapServersAsync(IResourceWithConnectionString kafka, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            return await kafka.ConnectionStringExpression.GetValueAsync(timeout.Token) is { Length: > 0 } servers ? servers : null;
        }
        catch (Exception exception) when (exception is OperationCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
