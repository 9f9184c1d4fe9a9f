using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// A stream thread of a RUNNING processor that has not polled Kafka for longer than
/// <c>StreamProcessor:StallLimit</c>: blocked, so that nothing is processed, emitted or committed,
/// while Streamiz still says RUNNING. Streamiz's commit waits without a bound of its own until the
/// broker has acknowledged every record the thread produced, so a broker that takes records but
/// does not answer holds the thread there (up to StreamProcessor:DeliveryTimeout, 2 minutes, after
/// which the stream fails and is restarted). Reported by <see cref="StreamThreadStallHealthCheck"/>
/// and logged by <see cref="StreamThreadStallWatchdog"/>.
/// </summary>
internal sealed class StreamThreadStall(StreamProcessorStatus status, StreamThreadActivity activity, IOptions<StreamProcessorOptions> options)
{
    private TimeSpan? _limit;

    /// <summary><c>StreamProcessor:StallLimit</c>, read when first needed (after the options were validated at start).</summary>
    public TimeSpan Limit => _limit ??= Durations.TryParse(options.Value.StallLimit, out var limit) ? limit : TimeSpan.FromSeconds(60);

    /// <summary>The longest silence of a thread when it is past the limit while RUNNING; null otherwise.</summary>
    public TimeSpan? Current()
    {
        if (status.State != "RUNNING")
        {
            return null;
        }

        var silence = activity.LongestSilence();
        return silence >= Limit ? silence : null;
    }

    public string Describe(TimeSpan silence) => string.Create(CultureInfo.InvariantCulture,
        $"A stream thread has not polled Kafka for {silence.TotalSeconds:F0} s (StreamProcessor:StallLimit {Limit.TotalSeconds:F0} s): it is blocked, most likely waiting for the broker to acknowledge what it produced, and no event is processed until it returns.");
}

/// <summary>Unhealthy while a stream thread is stalled (<see cref="StreamThreadStall"/>).</summary>
internal sealed class StreamThreadStallHealthCheck(StreamThreadStall stall) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(stall.Current() is { } silence
            ? HealthCheckResult.Unhealthy(stall.Describe(silence))
            : HealthCheckResult.Healthy("Every stream thread polls Kafka."));
}

/// <summary>Logs a stall at Critical when it begins and at Information when the threads poll again.</summary>
internal sealed partial class StreamThreadStallWatchdog(StreamThreadStall stall, ILogger<StreamThreadStallWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = TimeSpan.FromTicks(Math.Clamp(stall.Limit.Ticks / 4, TimeSpan.FromMilliseconds(250).Ticks, TimeSpan.FromSeconds(5).Ticks));
        using var timer = new PeriodicTimer(every);
        TimeSpan? stalledFor = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var silence = stall.Current();
                if (silence is { } now && stalledFor is null)
                {
                    LogStalled(logger, stall.Describe(now));
                }
                else if (silence is null && stalledFor is { } before)
                {
                    LogPollingAgain(logger, before.TotalSeconds);
                }

                stalledFor = silence;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(20, LogLevel.Critical, "STALLED: {Description}")]
    private static partial void LogStalled(ILogger logger, string description);

    [LoggerMessage(21, LogLevel.Information, "The stream threads poll Kafka again, after a stall of at least {Seconds:F0} s.")]
    private static partial void LogPollingAgain(ILogger logger, double seconds);
}
