using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// Aggregation:DedupeMaxIds: past it the registry forgets its oldest ids early. Within the window
/// that leaves, a duplicate is still dropped; older than it, it is counted again, and the
/// shortening is logged, counted and reported in health.
/// </summary>
public sealed class DedupeMemoryBoundTests
{
    [Fact]
    public async Task PastTheBoundTheOldestIdsAreForgottenAndTheShortenedWindowIsReported()
    {
        var logger = new RecordingLogger();
        using var driver = new ProcessorDriver(new AggregationOptions { DedupeWindow = "1h" }, dedupeMaxIds: 10, logger: logger);
        var at = driver.FutureHour;
        for (var i = 0; i <= 10; i++)
        {
            // Eleven ids, a minute apart in stream time: the eleventh takes the registry past 10.
            driver.Send(new PipelineEvent($"id-{i}", "k", 1, at.AddMinutes(i)));
        }

        driver.Settle();
        driver.Send(new PipelineEvent("id-5", "k", 1, at.AddMinutes(10))); // 5 minutes old: inside the shortened window, dropped
        driver.Send(new PipelineEvent("id-0", "k", 1, at.AddMinutes(10))); // 10 minutes old: forgotten early, counted again

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Equal(12, updates[AggregationTests.AllTime("k")].Count);
        Assert.Equal(1, driver.Measured("pipeline.stream_processor.events.duplicate"));
        Assert.Equal(2, driver.Measured("pipeline.stream_processor.dedupe.evicted")); // id-0, then id-1 for id-0's return
        var dedupe = driver.Dedupe!;
        Assert.True(dedupe.Count <= 10);
        Assert.True(dedupe.IsShortened);
        Assert.Equal(TimeSpan.FromMinutes(8), dedupe.EffectiveWindow); // the shortest it has been: id-1 went too
        var warning = Assert.Single(logger.Entries, entry => entry.Level == LogLevel.Warning);
        Assert.Contains("Aggregation:DedupeMaxIds is 10", warning.Message);
        Assert.Contains("effective dedupe window is now 00:09:00", warning.Message);
        var health = await new DedupeWindowHealthCheck(dedupe).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("00:08:00", health.Description);
    }

    [Fact]
    public void WithinTheBoundNothingIsForgottenEarly()
    {
        using var driver = new ProcessorDriver(new AggregationOptions { DedupeWindow = "1h" }, dedupeMaxIds: 100);
        var at = driver.FutureHour;
        for (var i = 0; i < 50; i++)
        {
            driver.Send(new PipelineEvent($"id-{i}", "k", 1, at.AddMinutes(i)));
        }

        driver.Send(new PipelineEvent("id-0", "k", 1, at.AddMinutes(50)));

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Equal(50, updates[AggregationTests.AllTime("k")].Count);
        Assert.Equal(0, driver.Measured("pipeline.stream_processor.dedupe.evicted"));
        Assert.False(driver.Dedupe!.IsShortened);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(2_000_000_000)]
    public void ABoundOutOfRangeIsRefusedNamingItsKey(int maxIds)
    {
        var result = new AggregationOptionsValidator().Validate(null, new AggregationOptions { DedupeMaxIds = maxIds });

        Assert.True(result.Failed);
        Assert.Contains("Aggregation:DedupeMaxIds", result.FailureMessage);
        Assert.DoesNotContain("The field", result.FailureMessage);
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
