using System.Globalization;
using System.Collections.Concurrent;
using HdrHistogram;

namespace Pipeline.LoadGenerator;

/// <summary>Counters and a latency histogram shared by the senders, read by the progress line and the summary.</summary>
internal sealed class LoadStatistics
{
    private readonly LongConcurrentHistogram _latency = new(1, TimeStamp.Hours(1), 3);
    private readonly ConcurrentDictionary<int, long> _byStatus = new();
    private long _sentEvents;
    private long _acceptedEvents;
    private long _requests;
    private long _heldBackPastMaxWait;
    private string? _heldBackBy;

    public long SentEvents => Interlocked.Read(ref _sentEvents);

    public long AcceptedEvents => Interlocked.Read(ref _acceptedEvents);

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Events of requests the API still held back after <c>--max-wait</c>; the first such request ends the run.</summary>
    public long HeldBackPastMaxWait => Interlocked.Read(ref _heldBackPastMaxWait);

    /// <summary>What held the first such request back: its status and problem code, e.g. <c>503 backlog-full</c>.</summary>
    public string? HeldBackBy => Volatile.Read(ref _heldBackBy);

    /// <summary>Requests by HTTP status (0: no answer).</summary>
    public IReadOnlyDictionary<int, long> ByStatus => _byStatus;

    public void Record(SendOutcome outcome, int events)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _sentEvents, events);
        if (IngestClient.Accepted(outcome.Status))
        {
            Interlocked.Add(ref _acceptedEvents, events);
        }

        _byStatus.AddOrUpdate(outcome.Status, 1, (_, count) => count + 1);
        _latency.RecordValue(Math.Max(1, outcome.Latency.Ticks / TimeSpan.TicksPerMicrosecond));
    }

    public void GaveUpHeldBack(int events, SendOutcome outcome)
    {
        Interlocked.Add(ref _heldBackPastMaxWait, events);
        Interlocked.CompareExchange(ref _heldBackBy, outcome.Code is null ? outcome.Status.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{outcome.Status} {outcome.Code}"), null);
    }

    public double LatencyMilliseconds(double percentile) =>
        _latency.TotalCount == 0 ? 0 : _latency.GetValueAtPercentile(percentile) / 1000.0;
}
