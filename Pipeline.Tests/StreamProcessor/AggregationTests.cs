using Pipeline.StreamProcessor.Configuration;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>What the processor computes, driven through its real topology in Streamiz's TopologyTestDriver.</summary>
public sealed class AggregationTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void VersionsComeFromSourceOffsetsSoAStateStartedAgainFromNothingStillOutranksEverythingSentBefore()
    {
        long highest;
        using (var driver = new ProcessorDriver())
        {
            for (var i = 0; i < 5; i++)
            {
                driver.Send("kept", 1, driver.FutureHour);
            }

            var updates = driver.Settle();
            // The last event behind every aggregate of the key is the one at offset 4.
            Assert.All(updates, update => Assert.Equal(2 * (4 + 1), update.Version));
            highest = updates.Max(update => update.Version);
        }

        // The same partition read by a processor whose state was lost: it counts from nothing again,
        // but its versions come from offsets further on, so the sink replaces the old rows rather
        // than keeping them for good (a counter would have restarted at 1).
        using var again = new ProcessorDriver();
        for (var i = 0; i < 5; i++)
        {
            again.Send("other", 1, again.FutureHour);
        }

        again.Send("kept", 1, again.FutureHour);
        var restarted = again.Settle().Where(update => update.Key == "kept").ToList();

        Assert.NotEmpty(restarted);
        Assert.All(restarted, update => Assert.True(update.Version > highest, $"{update.Id} v{update.Version} is not above v{highest}"));
    }

    [Theory]
    [InlineData(StateStoreKind.InMemory)]
    [InlineData(StateStoreKind.RocksDb)]
    public void EventsAreSummarisedExactlyPerEpochAlignedWindowAndAllTime(StateStoreKind stateStore)
    {
        using var driver = new ProcessorDriver(stateStore: stateStore);
        var hour = driver.FutureHour;
        // Values exactly representable in binary, so every statistic has one right answer.
        driver.Send("sensor-1", 1.5, hour.AddSeconds(1));
        driver.Send("sensor-1", -0.25, hour.AddSeconds(20));
        driver.Send("sensor-1", 8, hour.AddSeconds(59.999));
        driver.Send("sensor-1", 0.75, hour.AddMinutes(1).AddSeconds(5));

        var updates = Latest(driver.Settle());

        var firstMinute = updates[new AggregateId("sensor-1", "1m", hour)];
        Assert.Equal((3, 9.25, -0.25, 8.0), (firstMinute.Count, firstMinute.Sum, firstMinute.Min, firstMinute.Max));
        Assert.Equal(9.25 / 3, firstMinute.Mean);
        Assert.Equal(hour.AddMinutes(1), firstMinute.WindowEnd);
        Assert.False(firstMinute.Final);

        var secondMinute = updates[new AggregateId("sensor-1", "1m", hour.AddMinutes(1))];
        Assert.Equal((1, 0.75, 0.75, 0.75, 0.75), (secondMinute.Count, secondMinute.Sum, secondMinute.Min, secondMinute.Max, secondMinute.Mean));

        var wholeHour = updates[new AggregateId("sensor-1", "1h", hour)];
        Assert.Equal((4, 10.0, -0.25, 8.0, 2.5), (wholeHour.Count, wholeHour.Sum, wholeHour.Min, wholeHour.Max, wholeHour.Mean));
        Assert.Equal(hour.AddHours(1), wholeHour.WindowEnd);

        var allTime = updates[new AggregateId("sensor-1", WindowNames.AllTime, WindowNames.AllTimeStart)];
        Assert.Equal((4, 10.0, -0.25, 8.0, 2.5), (allTime.Count, allTime.Sum, allTime.Min, allTime.Max, allTime.Mean));
        Assert.Null(allTime.WindowEnd);
        Assert.Equal(4, updates.Count);
    }

    [Fact]
    public void EventAtExactlyAWindowsEndBelongsToTheNextWindow()
    {
        using var driver = new ProcessorDriver();
        var hour = driver.FutureHour;
        driver.Send("k", 1, hour.AddMinutes(1).AddTicks(-TimeSpan.TicksPerMillisecond));
        driver.Send("k", 2, hour.AddMinutes(1));

        var updates = Latest(driver.Settle());

        Assert.Equal(1, updates[new AggregateId("k", "1m", hour)].Sum);
        Assert.Equal(2, updates[new AggregateId("k", "1m", hour.AddMinutes(1))].Sum);
        Assert.Equal(3, updates[new AggregateId("k", "1h", hour)].Sum);
    }

    [Fact]
    public void OutOfOrderEventInsideGraceUpdatesItsWindow()
    {
        using var driver = new ProcessorDriver();
        var hour = driver.FutureHour;
        driver.Send("k", 1, hour.AddSeconds(10));
        driver.Send("k", 1, hour.AddMinutes(1).AddSeconds(29)); // stream time 29 s past the first window's end
        driver.Send("k", 4, hour.AddSeconds(50));                // late, but inside the 30 s grace

        var updates = Latest(driver.Settle());

        var firstMinute = updates[new AggregateId("k", "1m", hour)];
        Assert.Equal((2, 5.0, 4.0), (firstMinute.Count, firstMinute.Sum, firstMinute.Max));
        Assert.False(firstMinute.Final);
        Assert.Equal(0, driver.Measured("pipeline.stream_processor.events.late"));
    }

    [Fact]
    public void EventBeyondGraceIsLeftOutOfItsWindowButCountedInAllTimeAndAsLate()
    {
        using var driver = new ProcessorDriver();
        var hour = driver.FutureHour;
        driver.Send("k", 1, hour.AddSeconds(10));
        driver.Send("k", 1, hour.AddMinutes(1).AddSeconds(30)); // stream time reaches the first window's end plus grace
        driver.Send("k", 4, hour.AddSeconds(50));

        var updates = Latest(driver.Settle());

        Assert.Equal(1, updates[new AggregateId("k", "1m", hour)].Count);
        Assert.Equal(3, updates[new AggregateId("k", "1h", hour)].Count);
        Assert.Equal((3, 6.0), (updates[AllTime("k")].Count, updates[AllTime("k")].Sum));
        Assert.Equal(1, driver.Measured("pipeline.stream_processor.events.late", "pipeline.window.size=1m"));
        Assert.Equal(0, driver.Measured("pipeline.stream_processor.events.late", "pipeline.window.size=1h"));
    }

    [Fact]
    public void StreamTimeClosesAWindowWithExactlyOneFinalRecordThatNothingChangesAfterwards()
    {
        using var driver = new ProcessorDriver();
        var hour = driver.FutureHour;
        var window = new AggregateId("k", "1m", hour);
        driver.Send("k", 2, hour.AddSeconds(1));
        driver.Send("k", 3, hour.AddSeconds(2));
        var beforeClose = driver.Settle();

        driver.Send("other", 1, hour.AddMinutes(1).AddSeconds(30)); // another key moves stream time past end + grace
        driver.Settle();                                             // the punctuation closes the window
        var closing = driver.Settle();                               // the commit makes it durable, the next punctuation sends it
        driver.Send("k", 100, hour.AddSeconds(3));                   // too late for the closed window
        var afterClose = driver.Settle().Concat(driver.Settle()).ToList();

        var final = Assert.Single(closing, update => update.Id == window);
        Assert.True(final.Final);
        Assert.Equal((2, 5.0), (final.Count, final.Sum));
        Assert.True(final.Version > beforeClose.Single(update => update.Id == window).Version);
        Assert.DoesNotContain(afterClose, update => update.Id == window);
        Assert.Equal(105, Latest(afterClose)[AllTime("k")].Sum);
        Assert.Equal(1, driver.Measured("pipeline.stream_processor.events.late", "pipeline.window.size=1m"));
    }

    [Fact]
    public void WallClockClosesTheLastWindowOfAQuietKeyWithoutFurtherTraffic()
    {
        using var driver = new ProcessorDriver();
        var start = driver.WallClockStart;
        var minute = new DateTimeOffset(start.Ticks - start.Ticks % Minute.Ticks, TimeSpan.Zero);
        driver.Send("quiet", 7, minute.AddSeconds(1) > start ? minute.AddSeconds(1) : start);
        var open = Latest(driver.Settle());
        Assert.False(open[new AggregateId("quiet", "1m", minute)].Final);

        driver.AdvanceWallClock(TimeSpan.FromMinutes(2)); // past the window's end plus grace; no event arrives
        var closing = driver.Settle();

        var final = Assert.Single(closing, update => update.Id == new AggregateId("quiet", "1m", minute));
        Assert.True(final.Final);
        Assert.Equal(7, final.Sum);
        Assert.DoesNotContain(closing, update => update.Window == WindowNames.AllTime); // all-time totals never close
        Assert.Empty(driver.Settle());                                                    // and nothing is sent twice
    }

    [Fact]
    public void AnEventFromAClientWhoseClockRunsFastDoesNotCloseTheWindowsOnTimeEventsAreFilling()
    {
        using var driver = new ProcessorDriver(eventsInTheFuture: false);
        var start = driver.WallClockStart;
        var minute = new DateTimeOffset(start.Ticks - start.Ticks % Minute.Ticks, TimeSpan.Zero);
        driver.Send("k", 1, start);
        driver.Send("k", 10, start.AddMinutes(4)); // within the API's 5-minute clock skew
        driver.AdvanceWallClock(TimeSpan.FromSeconds(1));
        driver.Send("k", 100, start);                // on time: a second old, in the same window as the first

        var updates = Latest(driver.Settle());

        Assert.Equal(101, updates[new AggregateId("k", "1m", minute)].Sum);
        Assert.False(updates[new AggregateId("k", "1m", minute)].Final);
        Assert.Equal(10, updates[new AggregateId("k", "1m", minute.AddMinutes(4))].Sum);
        Assert.Equal(111, updates[AllTime("k")].Sum);
        Assert.Equal(0, driver.Measured("pipeline.stream_processor.events.late"));
    }

    [Fact]
    public void UpdatesLeaveOnlyAfterTheCommitThatMadeThemDurable()
    {
        using var driver = new ProcessorDriver();
        driver.Send("k", 1, driver.FutureHour);

        driver.AdvanceWallClock(driver.Settings.PunctuationInterval * 3);
        var beforeCommit = driver.ReadAggregates();
        driver.Commit();
        var afterCommitBeforePunctuation = driver.ReadAggregates();
        driver.AdvanceWallClock(driver.Settings.PunctuationInterval);
        var afterPunctuation = driver.ReadAggregates();

        Assert.Empty(beforeCommit);
        Assert.Empty(afterCommitBeforePunctuation);
        Assert.Equal(3, afterPunctuation.Count);
    }

    [Fact]
    public void AHotKeyIsSentOncePerAggregateAndFlushWithStrictlyIncreasingVersions()
    {
        using var driver = new ProcessorDriver();
        var hour = driver.FutureHour;
        for (var i = 0; i < 500; i++)
        {
            driver.Send("hot", 1, hour.AddMilliseconds(i));
        }

        var first = driver.Settle();
        driver.Send("hot", 1, hour.AddSeconds(1));
        var second = driver.Settle();

        Assert.Equal(3, first.Count);
        Assert.Equal(3, second.Count);
        Assert.All(second, update => Assert.True(update.Version > first.Single(earlier => earlier.Id == update.Id).Version));
        Assert.Equal(501, Latest(second)[AllTime("hot")].Count);
    }

    [Fact]
    public void ConfiguredWindowSizesAreUsedAndNamedCanonically()
    {
        using var driver = new ProcessorDriver(new AggregationOptions { Windows = ["30s", "120m"] });
        var hour = driver.FutureHour;
        driver.Send("k", 1, hour.AddSeconds(31));

        var updates = Latest(driver.Settle());

        Assert.Equal(
            [new AggregateId("k", "30s", hour.AddSeconds(30)), new AggregateId("k", "2h", new DateTimeOffset(hour.Ticks - hour.Ticks % TimeSpan.FromHours(2).Ticks, TimeSpan.Zero)), AllTime("k")],
            updates.Keys.OrderBy(id => id.Window == "30s" ? 0 : id.Window == "2h" ? 1 : 2));
    }

    internal static AggregateId AllTime(string key) => new(key, WindowNames.AllTime, WindowNames.AllTimeStart);

    /// <summary>The highest version of each aggregate, as a consumer that refuses older versions would hold.</summary>
    internal static Dictionary<AggregateId, AggregateRecord> Latest(IEnumerable<AggregateRecord> updates) =>
        updates.GroupBy(update => update.Id).ToDictionary(group => group.Key, group => group.MaxBy(update => update.Version)!);
}
