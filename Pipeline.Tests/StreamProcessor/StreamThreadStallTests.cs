using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>When a stream thread counts as stalled: past the limit since its last poll, and only while RUNNING.</summary>
public sealed class StreamThreadStallTests
{
    [Fact]
    public void TheThreadSilentLongestCountsAndItIsAStallOnlyPastTheLimitWhileRunning()
    {
        var time = new SteppedTime();
        var activity = new StreamThreadActivity(time);
        var status = new StreamProcessorStatus();
        var stall = new StreamThreadStall(status, activity, Options.Create(new StreamProcessorOptions { StallLimit = "60s" }));
        status.Set("RUNNING");

        var quiet = new Thread(activity.Polled);
        quiet.Start();
        quiet.Join();
        time.Advance(TimeSpan.FromSeconds(50));
        activity.Polled(); // this thread keeps polling; the other does not
        var before = stall.Current();
        time.Advance(TimeSpan.FromSeconds(11));
        var past = stall.Current();
        status.Set("REBALANCING");
        var rebalancing = stall.Current();
        status.Set("RUNNING");
        activity.Reset();
        var afterReset = stall.Current();

        Assert.Null(before);
        Assert.Equal(TimeSpan.FromSeconds(61), past);
        Assert.Null(rebalancing); // not RUNNING: the stream's own state says so
        Assert.Null(afterReset); // a new Streamiz application, new threads
    }

    [Fact]
    public async Task HealthIsUnhealthyWithTheSilenceAndTheLimitWhileAThreadIsStalled()
    {
        var time = new SteppedTime();
        var activity = new StreamThreadActivity(time);
        var status = new StreamProcessorStatus();
        status.Set("RUNNING");
        var check = new StreamThreadStallHealthCheck(new StreamThreadStall(status, activity, Options.Create(new StreamProcessorOptions { StallLimit = "2s" })));
        activity.Polled();

        var polling = await check.CheckHealthAsync(new HealthCheckContext());
        time.Advance(TimeSpan.FromSeconds(3));
        var stalled = await check.CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Healthy, polling.Status);
        Assert.Equal(HealthStatus.Unhealthy, stalled.Status);
        Assert.Equal("A stream thread has not polled Kafka for 3 s (StreamProcessor:StallLimit 2 s): it is blocked, most likely waiting for the broker to acknowledge what it produced, and no event is processed until it returns.", stalled.Description);
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class SteppedTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
