using Pipeline.LoadGenerator;

namespace Pipeline.Tests.LoadGenerator;

public sealed class TruthTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnIdAcceptedTwiceIsCountedOnce()
    {
        var truth = new Truth(["1m"]);
        var sent = new GeneratedEvent("id-1", "k", 2.5, Noon, Late: false);

        truth.Accept(sent);
        truth.Accept(sent);

        Assert.Equal(new Figures(1, 2.5, 2.5, 2.5), truth.Totals["k"]);
        Assert.Equal(1, truth.AcceptedEvents);
    }

    [Fact]
    public void AnEventAtAWindowsEndBelongsToTheNextWindow()
    {
        var truth = new Truth(["1m"]);

        truth.Accept(new("a", "k", 1, Noon.AddSeconds(-0.001), Late: false));
        truth.Accept(new("b", "k", 2, Noon, Late: false));

        Assert.Equal(1, truth.Windows[("k", "1m", Noon.AddMinutes(-1))].Count);
        Assert.Equal(new Figures(1, 2, 2, 2), truth.Windows[("k", "1m", Noon)]);
    }

    [Fact]
    public void ALateEventCountsInAllTimeOnly()
    {
        var truth = new Truth(["1m", "1h"]);

        truth.Accept(new("a", "k", 4, Noon, Late: false));
        truth.Accept(new("b", "k", -1.25, Noon.AddHours(-3), Late: true));

        Assert.Equal(new Figures(2, 2.75, -1.25, 4), truth.Totals["k"]);
        Assert.Equal(2, truth.Windows.Count);
        Assert.All(truth.Windows.Values, window => Assert.Equal(1, window.Count));
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("1m", 60)]
    [InlineData("1h", 3600)]
    [InlineData("2d", 172800)]
    public void WindowSizesParseAsThePipelineWritesThem(string size, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), WindowSize.Parse(size));
    }

    [Theory]
    [InlineData("1x")]
    [InlineData("0m")]
    [InlineData("m")]
    public void AMalformedWindowSizeIsRefused(string size)
    {
        Assert.Throws<FormatException>(() => WindowSize.Parse(size));
    }

    [Fact]
    public void WindowsAreAlignedToTheEpochAlsoBeforeIt()
    {
        Assert.Equal(Noon, WindowSize.StartOf(Noon.AddMinutes(59), TimeSpan.FromHours(1)));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddMinutes(-1), WindowSize.StartOf(DateTimeOffset.UnixEpoch.AddSeconds(-1), TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void HotKeysGetTheirShareOfTheTraffic()
    {
        var options = new LoadOptions { Api = new("http://127.0.0.1/"), ApiKey = "k", KeyPrefix = "t", Keys = 100, Skew = KeySkew.Parse("hot:0.8:2"), Seed = 7 };
        var source = new EventSource(options, TimeProvider.System);

        var keys = Enumerable.Range(0, 10_000).Select(_ => source.Next().Key).ToList();
        var hotShare = keys.Count(key => key == source.KeyAt(0) || key == source.KeyAt(1)) / (double)keys.Count;

        Assert.InRange(hotShare, 0.77, 0.83);
        Assert.True(keys.Distinct().Count() > 50);
    }

    [Fact]
    public void GeneratedValuesAreQuartersSoSumsAreExact()
    {
        var random = new Random(3);
        var values = ValueDistribution.Parse("normal:10:3");

        Assert.All(Enumerable.Range(0, 1000).Select(_ => values.Next(random)), value => Assert.Equal(0, (value * 4) % 1));
    }
}
