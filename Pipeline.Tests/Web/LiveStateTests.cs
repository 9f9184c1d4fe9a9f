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
    public void ChangesTheApiDroppedAreCountedAndTellThePagesToReadTheirFiguresAgain()
    {
        var connection = new PipelineConnection(new FixedTime(Now));
        connection.StreamOpened();
        connection.StatusRead(Status("listening"));
        var missed = 0;
        var changed = 0;
        connection.ChangesMissed += () => missed++;
        connection.Changed += () => changed++;

        connection.ChangesDropped(7);
        connection.ChangesDropped(3);

        Assert.Equal((2, 2, 10L), (missed, changed, connection.MissedChanges));
        Assert.Equal(ConnectionState.Live, connection.State);
    }

    [Fact]
    public async Task TheStreamWorkerReadsTheApisDroppedEventAndStillPassesOnTheChangesAfterIt()
    {
        const string Stream = """
            event: heartbeat
            data: {}

            event: dropped
            data: {"dropped":42}

            event: aggregate
            data: {"key":"k","window":"all","windowStart":"1970-01-01T00:00:00+00:00","windowEnd":null,"count":3,"sum":6,"min":1,"max":3,"mean":2,"final":false,"version":9,"updatedAt":"2030-01-02T03:04:29+00:00"}


            """;
        var connection = new PipelineConnection(new FixedTime(Now));
        var missed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new TaskCompletionSource<Pipeline.Contracts.AggregateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ChangesMissed += () => missed.TrySetResult(connection.MissedChanges);
        connection.ChangeReceived += change => received.TrySetResult(change);
        var worker = new AggregateStreamWorker(
            new OneStream(Stream), connection, Microsoft.Extensions.Options.Options.Create(new PipelineApiOptions()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AggregateStreamWorker>.Instance);

        await worker.StartAsync(default);
        var missedCount = await missed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var change = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await worker.StopAsync(default);

        Assert.Equal(42, missedCount);
        Assert.Equal(("k", 9L, 3L), (change.Key, change.Version, change.Count));
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

    /// <summary>An API whose change stream sends the given text and ends, every time it is opened.</summary>
    private sealed class OneStream(string events) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(new Handler(events)) { BaseAddress = new Uri("http://127.0.0.1:1") };

        private sealed class Handler(string events) : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK)
                {
                    Content = new StringContent(events, System.Text.Encoding.UTF8, "text/event-stream"),
                });
        }
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
