using System.Globalization;

namespace Pipeline.LoadGenerator;

/// <summary>A progress line every second on standard error: sent, accepted, rejected by status, rate and latency.</summary>
internal sealed class ProgressReporter(LoadStatistics statistics, TextWriter output, TimeProvider time) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public void Start() => _loop = Task.Run(LoopAsync);

    public void Line(string text) => output.WriteLine(text);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        Write(); // a last line with the final counts
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                Write();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private readonly DateTimeOffset _started = time.GetUtcNow();
    private long _lastSent;
    private DateTimeOffset _lastAt = time.GetUtcNow();

    private void Write()
    {
        var now = time.GetUtcNow();
        var sent = statistics.SentEvents;
        var seconds = Math.Max((now - _lastAt).TotalSeconds, 0.001);
        var rate = (sent - _lastSent) / seconds;
        (_lastSent, _lastAt) = (sent, now);

        var rejected = string.Join(" ", statistics.ByStatus.Where(s => s.Key != 202).OrderBy(s => s.Key)
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{(s.Key == 0 ? "no-answer" : s.Key.ToString(CultureInfo.InvariantCulture))}:{s.Value}")));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{(now - _started).TotalSeconds,5:F0}s] sent {sent,9}  accepted {statistics.AcceptedEvents,9}  rejected requests {(rejected.Length == 0 ? "none" : rejected)}  rate {rate,8:F0}/s  latency p50 {statistics.LatencyMilliseconds(50):F1} ms p99 {statistics.LatencyMilliseconds(99):F1} ms"));
    }
}
