using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// The event ids one processor instance remembers, shared by all its tasks' <see cref="EventIdRegistry"/>s.
/// A registry that would take the count past <see cref="MaxIds"/> forgets its own oldest ids first,
/// so the bound holds at every moment; the window this leaves that registry is the effective dedupe
/// window, reported here (gauge, Warning log at most once a minute while it lasts, health Degraded).
/// A duplicate older than the effective window is counted again.
/// </summary>
internal sealed partial class DedupeBudget
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Counter<long> _evicted;
    private readonly Lazy<int> _maxIds;
    private readonly Lazy<TimeSpan> _configuredWindow;
    private long _count;
    private long _shortestWindowMs = -1; // -1: not shortened
    private long _lastLogTicks = long.MinValue;
    private long _evictedSinceLog;

    public DedupeBudget(int maxIds, TimeSpan configuredWindow, Meter meter, ILogger logger, TimeProvider? time = null)
        : this(() => maxIds, () => configuredWindow, meter, logger, time)
    {
    }

    /// <summary>
    /// Reads the bound and the window on first use, not when the service is built: invalid settings
    /// then fail in start-up validation, which reports every wrong key at once.
    /// </summary>
    public DedupeBudget(Func<int> maxIds, Func<TimeSpan> configuredWindow, Meter meter, ILogger logger, TimeProvider? time = null)
    {
        _maxIds = new Lazy<int>(maxIds);
        _configuredWindow = new Lazy<TimeSpan>(configuredWindow);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _evicted = meter.CreateCounter<long>(
            "pipeline.stream_processor.dedupe.evicted", "{event_id}",
            "Event ids forgotten before their dedupe window ended because Aggregation:DedupeMaxIds was reached.");
        meter.CreateObservableGauge(
            "pipeline.stream_processor.dedupe.ids", () => Count, "{event_id}",
            "Event ids this instance remembers for dedupe.");
        meter.CreateObservableGauge(
            "pipeline.stream_processor.dedupe.effective_window", () => EffectiveWindow.TotalSeconds, "s",
            "The dedupe window that the memory bound leaves: Aggregation:DedupeWindow unless the bound shortened it.");
    }

    /// <summary>No bound (0) keeps every id for the whole window.</summary>
    public int MaxIds => _maxIds.Value;

    public long Count => Interlocked.Read(ref _count);

    public bool IsOver => MaxIds > 0 && Count > MaxIds;

    /// <summary>Whether the bound has shortened the window (since the count last fell below 90 % of it).</summary>
    public bool IsShortened => Interlocked.Read(ref _shortestWindowMs) >= 0;

    /// <summary>The configured window, or the shortest a registry was left with while the bound bites.</summary>
    public TimeSpan EffectiveWindow =>
        Interlocked.Read(ref _shortestWindowMs) is var ms and >= 0 ? TimeSpan.FromMilliseconds(ms) : _configuredWindow.Value;

    public void Add(int ids) => Interlocked.Add(ref _count, ids);

    public void Release(int ids)
    {
        if (Interlocked.Add(ref _count, -ids) < MaxIds * 0.9 && IsShortened && Interlocked.Exchange(ref _shortestWindowMs, -1) >= 0)
        {
            LogWindowRestored(_logger, _configuredWindow.Value);
        }
    }

    /// <summary>A registry forgot <paramref name="ids"/> ids early, which left it <paramref name="window"/> of dedupe.</summary>
    public void Evicted(int ids, TimeSpan window, string task)
    {
        Release(ids);
        _evicted.Add(ids);
        var windowMs = Math.Max(0, (long)window.TotalMilliseconds);
        long seen;
        do
        {
            seen = Interlocked.Read(ref _shortestWindowMs);
        }
        while ((seen < 0 || windowMs < seen) && Interlocked.CompareExchange(ref _shortestWindowMs, windowMs, seen) != seen);

        Interlocked.Add(ref _evictedSinceLog, ids);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastLogTicks);
        if (last == long.MinValue || _time.GetElapsedTime(last, now) >= LogEvery)
        {
            if (Interlocked.CompareExchange(ref _lastLogTicks, now, last) == last)
            {
                LogWindowShortened(_logger, task, MaxIds, Interlocked.Exchange(ref _evictedSinceLog, 0), _configuredWindow.Value, window);
            }
        }
    }

    [LoggerMessage(20, LogLevel.Warning,
        "Dedupe memory bound reached: Aggregation:DedupeMaxIds is {MaxIds}, so task {Task} forgot {Evicted} event ids before Aggregation:DedupeWindow ({ConfiguredWindow}) ended; " +
        "its effective dedupe window is now {EffectiveWindow}, and a duplicate older than that is counted again. Raise the bound (more memory) or lower the rate.")]
    private static partial void LogWindowShortened(ILogger logger, string task, int maxIds, long evicted, TimeSpan configuredWindow, TimeSpan effectiveWindow);

    [LoggerMessage(21, LogLevel.Information, "Dedupe is back within Aggregation:DedupeMaxIds: the dedupe window is {ConfiguredWindow} again")]
    private static partial void LogWindowRestored(ILogger logger, TimeSpan configuredWindow);
}

/// <summary>Degraded while the memory bound shortens the dedupe window: the processor runs, with a weaker dedupe.</summary>
internal sealed class DedupeWindowHealthCheck(DedupeBudget budget) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(budget.IsShortened
            ? HealthCheckResult.Degraded(
                $"Aggregation:DedupeMaxIds ({budget.MaxIds}) shortens the dedupe window to {budget.EffectiveWindow}: a duplicate older than that is counted again.")
            : HealthCheckResult.Healthy(budget.MaxIds > 0
                ? $"Dedupe remembers {budget.Count} event ids, within Aggregation:DedupeMaxIds ({budget.MaxIds})."
                : $"Dedupe remembers {budget.Count} event ids; Aggregation:DedupeMaxIds is 0 (no bound)."));
}
