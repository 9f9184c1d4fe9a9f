using Pipeline.Web.Api;
using Pipeline.Web.Components.Panels;
using Pipeline.Web.Live;

namespace Pipeline.Tests.Web;

/// <summary>The live page's state, without a browser: when it says live or reconnecting, and how a chart takes changes.</summary>
public sealed class LiveStateTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 2, 3, 4, 30, TimeSpan.Zero);

    [Fact]
    public void ThePageIsLiveOnlyWhileTheStreamIsOpenAndTheApiHearsTheDatabase()
    {
        var connection = new PipelineConnection(new FixedTime(Now));
        Assert.Equal(ConnectionState.Connecting, connection.State);

        connection.StreamOpened();
        connection.StatusRead(Status("listening"));
        Assert.Equal(ConnectionState.Live, connection.State);
        Assert.Null(connection.Reason);

        connection.StatusRead(Status("reconnecting"));
        Assert.Equal(ConnectionState.Reconnecting, connection.State);
        Assert.Contains("database", connection.Reason, StringComparison.Ordinal);

        connection.StatusRead(Status("listening"));
        connection.StreamLost("The API is out of reach.");
        Assert.Equal((ConnectionState.Reconnecting, "The API is out of reach."), (connection.State, connection.Reason));

        connection.StreamOpened();
        Assert.Equal(ConnectionState.Live, connection.State);
        Assert.Equal(2, connection.Reconnections);
    }

    [Fact]
    public void AChartShowsEverySlotOfItsSpanAndNeverTakesAnOpenStateOverAFinalOne()
    {
        var minutes = new WindowSeries(TimeSpan.FromMinutes(1), 60);
        var start = new DateTimeOffset(2030, 1, 2, 3, 3, 0, TimeSpan.Zero);
        minutes.Apply(Window(start, count: 4, final: true, updated: Now));
        minutes.Apply(Window(start, count: 5, final: false, updated: Now.AddSeconds(1))); // a late, stale open state
        minutes.Apply(Window(start.AddMinutes(1), count: 1, final: false, updated: Now));
        minutes.Apply(Window(start.AddMinutes(1), count: 2, final: false, updated: Now.AddSeconds(1)));

        var points = minutes.Points(Now, w => w.Count);

        Assert.Equal(60, points.Count);
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 2, 5, 0, TimeSpan.Zero), points[0].Start);
        Assert.Equal((4d, 0d), (points[^2].Final, points[^2].Open));
        Assert.Equal((0d, 2d), (points[^1].Final, points[^1].Open));
        Assert.All(points.Take(58), point => Assert.Null(point.Window));
    }

    private static PipelineStatus Status(string changeStream) => new(Now, new IngestStatus(0, 10, 0), null, changeStream);

    private static WindowItem Window(DateTimeOffset start, long count, bool final, DateTimeOffset updated) =>
        new(start, start.AddMinutes(1), count, count, 1, 1, 1, final, updated);

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
