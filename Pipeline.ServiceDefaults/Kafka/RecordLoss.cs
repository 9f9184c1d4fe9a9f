using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Records a service can never read or restore: a consumer whose position fell below the log
/// start (the broker dropped records before they were read), or state that could not be restored
/// completely. Each loss is logged at Critical with its topic, partition and offsets, counted in
/// <c>{prefix}.records.lost</c>, and keeps the service's health Unhealthy for the rest of the
/// process's life: an operator has to look, and restarting the service is the acknowledgement.
/// </summary>
public sealed partial class RecordLoss
{
    private readonly Counter<long> _lost;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<string> _losses = [];

    /// <summary>Counts losses in <c>{instrumentPrefix}.records.lost</c> on <paramref name="meter"/>.</summary>
    public RecordLoss(Meter meter, string instrumentPrefix, ILogger logger)
    {
        _logger = logger;
        _lost = meter.CreateCounter<long>(
            instrumentPrefix + ".records.lost", "{record}",
            "Records this service will never read or restore: offsets the broker dropped before they were read (tag pipeline.loss.cause).");
    }

    /// <summary>The losses seen so far, newest last, as the health check reports them.</summary>
    public IReadOnlyList<string> Losses
    {
        get
        {
            lock (_gate)
            {
                return [.. _losses];
            }
        }
    }

    /// <summary>
    /// Reports offsets <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive) of a
    /// partition as lost; a <paramref name="to"/> of null means "an unknown number".
    /// </summary>
    public void Report(string topic, int partition, long from, long? to, string cause, string consequence)
    {
        var range = to is { } end
            ? string.Create(CultureInfo.InvariantCulture, $"offsets {from} to {end - 1} ({end - from} records)")
            : string.Create(CultureInfo.InvariantCulture, $"offsets from {from} (how many is unknown)");
        var description = string.Create(CultureInfo.InvariantCulture, $"{topic}[{partition}] {range}: {cause}; {consequence}");
        LogLost(_logger, topic, partition, range, cause, consequence);
        lock (_gate)
        {
            // The same loss found again (a task that refuses to run, retried) is logged, not counted twice.
            if (_losses.Contains(description))
            {
                return;
            }

            _losses.Add(description);
        }

        _lost.Add(to is { } last ? Math.Max(1, last - from) : 1,
            new KeyValuePair<string, object?>("messaging.destination.name", topic),
            new KeyValuePair<string, object?>("messaging.destination.partition.id", partition.ToString(CultureInfo.InvariantCulture)),
            new KeyValuePair<string, object?>("pipeline.loss.cause", cause));
    }

    /// <summary>Unhealthy once anything was lost; Healthy otherwise.</summary>
    public HealthCheckResult ToHealth()
    {
        var losses = Losses;
        return losses.Count == 0
            ? HealthCheckResult.Healthy("No record lost.")
            : HealthCheckResult.Unhealthy(
                $"Records were lost ({losses.Count} report(s); see the Critical log lines): {string.Join(" | ", losses.TakeLast(3))}",
                data: new Dictionary<string, object> { ["losses"] = losses.Count });
    }

    [LoggerMessage(1, LogLevel.Critical, "RECORDS LOST on {Topic}[{Partition}], {Range}: {Cause}; {Consequence}")]
    private static partial void LogLost(ILogger logger, string topic, int partition, string range, string cause, string consequence);
}

/// <summary>Reports <see cref="RecordLoss"/> as a readiness check.</summary>
public sealed class RecordLossHealthCheck(RecordLoss loss) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(loss.ToHealth());
}

/// <summary>Registers a service's <see cref="RecordLoss"/> and its health check.</summary>
public static class RecordLossExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="RecordLoss"/> counting into <c>{instrumentPrefix}.records.lost</c>
    /// on the meter <paramref name="meterName"/>, and the <c>records-lost</c> health check.
    /// </summary>
    public static IHostApplicationBuilder AddRecordLoss(this IHostApplicationBuilder builder, string meterName, string instrumentPrefix)
    {
        builder.Services.AddSingleton(services => new RecordLoss(
            services.GetRequiredService<IMeterFactory>().Create(meterName),
            instrumentPrefix,
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.RecordLoss")));
        builder.Services.AddHealthChecks().AddCheck<RecordLossHealthCheck>("records-lost", tags: ["ready"]);
        return builder;
    }
}
