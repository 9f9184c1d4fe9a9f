using Microsoft.Extensions.Options;
using Pipeline.Sink;

namespace Pipeline.Tests.Sink;

public sealed class WindowRetentionTests(SinkDatabase database) : IClassFixture<SinkDatabase>
{
    [Fact]
    public async Task WindowsOlderThanTheirSizesAgeArePrunedInSmallBatchesAndTotalsAndYoungerWindowsStay()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var expiredMinutes = Enumerable.Range(0, 10).Select(i => Window("1m", now.AddDays(-3).AddMinutes(i), TimeSpan.FromMinutes(1))).ToList();
        var keptMinutes = Enumerable.Range(0, 4).Select(i => Window("1m", now.AddDays(-1).AddMinutes(i), TimeSpan.FromMinutes(1))).ToList();
        var expiredHours = Enumerable.Range(0, 5).Select(i => Window("1h", now.AddDays(-100).AddHours(i), TimeSpan.FromHours(1))).ToList();
        var keptHours = Enumerable.Range(0, 2).Select(i => Window("1h", now.AddDays(-10).AddHours(i), TimeSpan.FromHours(1))).ToList();
        var unlistedSize = Window("5m", now.AddDays(-1000), TimeSpan.FromMinutes(5));
        var totals = new AggregateRecord("retain-a", WindowNames.AllTime, WindowNames.AllTimeStart, null, 1, 1, 1, 1, 1, false, 1, now.AddDays(-1000));
        await new PostgresAggregateWriter(database.DataSource).WriteAsync(
            [.. expiredMinutes, .. keptMinutes, .. expiredHours, .. keptHours, unlistedSize, totals], default);
        var options = Options.Create(new RetentionOptions { BatchSize = 3, BatchPause = TimeSpan.Zero, Interval = TimeSpan.FromHours(1) });
        var worker = new WindowRetentionWorker(new WindowRetention(database.DataSource, new SinkMetrics(new System.Diagnostics.Metrics.Meter("Pipeline.Tests.Retention"))), options, TimeProvider.System, NullLogger<WindowRetentionWorker>.Instance);

        await worker.StartAsync(default);
        var remaining = await Eventually.HoldsAsync(() => database.ReadAllAsync("retain-"), rows => rows.Count == 8);
        await worker.StopAsync(default);

        Assert.Equal(Aggregates.Ordered([.. keptMinutes, .. keptHours, unlistedSize, totals]), remaining);
    }

    [Fact]
    public async Task PruningReturnsHowManyRowsItDeletedAcrossItsBatches()
    {
        var now = DateTimeOffset.UtcNow;
        var expired = Enumerable.Range(0, 7).Select(i => Window("1m", now.AddDays(-30).AddMinutes(i), TimeSpan.FromMinutes(1)) with { Key = "prune-b" }).ToList();
        await new PostgresAggregateWriter(database.DataSource).WriteAsync(expired, default);

        var deleted = await new WindowRetention(database.DataSource, new SinkMetrics(new System.Diagnostics.Metrics.Meter("Pipeline.Tests.Retention"))).PruneAsync("1m", now.AddDays(-29), batchSize: 2, TimeSpan.Zero, default);

        Assert.Equal(7, deleted);
        Assert.Empty(await database.ReadAllAsync("prune-b"));
    }

    private static AggregateRecord Window(string size, DateTimeOffset start, TimeSpan length)
    {
        start = new DateTimeOffset(start.UtcTicks - start.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        return new AggregateRecord("retain-a", size, start, start + length, 2, 3, 1, 2, 1.5, true, 1, start + length);
    }
}
