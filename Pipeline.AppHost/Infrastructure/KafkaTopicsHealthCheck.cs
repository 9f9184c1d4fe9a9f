using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>
/// Healthy once the cluster serves every topic the pipeline needs, each fitting it; each check
/// creates what is missing (<see cref="KafkaTopicProvisioner"/>), so the services that wait for
/// Kafka find their topics. A topic that does not fit is logged once as an error naming it, and
/// keeps the services from starting. Added by <see cref="KafkaTopicsBuilderExtensions.WithPipelineTopics{T}"/>.
/// </summary>
internal sealed partial class KafkaTopicsHealthCheck(Func<CancellationToken, Task<KafkaTopicProvisioner?>> provisioner, ILogger logger) : IHealthCheck
{
    private string? _lastReport;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (await provisioner(cancellationToken) is not { } topics)
        {
            return HealthCheckResult.Unhealthy("The Kafka connection string is not known yet.");
        }

        try
        {
            var outcome = await topics.EnsureAsync(cancellationToken);
            if (outcome.Created.Count > 0)
            {
                LogCreated(logger, string.Join(", ", outcome.Created));
            }

            if (outcome.Fits && outcome.Created.Count == 0)
            {
                return HealthCheckResult.Healthy();
            }

            var report = outcome.Fits ? "Topics created; waiting for the cluster to serve them." : string.Join(" ", outcome.Problems);
            if (!outcome.Fits && report != _lastReport)
            {
                LogDoesNotFit(logger, report);
            }

            _lastReport = report;
            return HealthCheckResult.Unhealthy(report);
        }
        catch (Confluent.Kafka.KafkaException exception)
        {
            return HealthCheckResult.Unhealthy("The Kafka cluster did not answer a metadata request.", exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Kafka topics {Topics}.")]
    private static partial void LogCreated(ILogger logger, string topics);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Kafka cluster does not fit the pipeline; the services will not start until it does. {Problems}")]
    private static partial void LogDoesNotFit(ILogger logger, string problems);
}
