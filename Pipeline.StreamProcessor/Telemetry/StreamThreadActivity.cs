using System.Collections.Concurrent;

namespace Pipeline.StreamProcessor.Telemetry;

/// <summary>
/// When each stream thread last polled Kafka (its main or its restore consumer). A stream thread
/// polls every few milliseconds while it works; one that has not polled for long is blocked — for
/// instance in a commit, which first waits (without a bound of Streamiz's own) until the broker
/// has acknowledged every record the thread produced — and processes nothing meanwhile.
/// </summary>
internal sealed class StreamThreadActivity(TimeProvider time)
{
    private readonly ConcurrentDictionary<int, long> _lastPollByThread = new();

    public StreamThreadActivity()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Called by a consumer each time a poll returns, on the stream thread that polled.</summary>
    public void Polled() => _lastPollByThread[Environment.CurrentManagedThreadId] = time.GetTimestamp();

    /// <summary>Forgets every thread: a new Streamiz application has new threads.</summary>
    public void Reset() => _lastPollByThread.Clear();

    /// <summary>How long the thread that has waited longest since its last poll has waited (zero before any poll).</summary>
    public TimeSpan LongestSilence()
    {
        var now = time.GetTimestamp();
        var longest = TimeSpan.Zero;
        foreach (var lastPoll in _lastPollByThread.Values)
        {
            var silence = time.GetElapsedTime(lastPoll, now);
            longest = silence > longest ? silence : longest;
        }

        return longest;
    }
}
