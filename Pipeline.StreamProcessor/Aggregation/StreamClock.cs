namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// A task's sense of time. Stream time is the largest event timestamp seen on the partition,
/// but never more than <c>Aggregation:MaxEventLead</c> ahead of the wall clock, so that an event
/// from a fast client clock cannot close the windows on-time events are filling. Windows close by
/// stream time or the wall clock, whichever is ahead, and that clock never goes back.
/// </summary>
internal sealed class StreamClock(TimeSpan maxEventLead)
{
    private readonly long _maxLeadMs = (long)maxEventLead.TotalMilliseconds;
    private long _closeClock = long.MinValue;

    /// <summary>The largest event timestamp seen (capped as above), in Unix milliseconds; -1 before any.</summary>
    public long StreamTime { get; private set; } = -1;

    /// <summary>Whether stream time moved since it was last written to the store.</summary>
    public bool Changed { get; private set; }

    /// <summary>Stream time as the store kept it.</summary>
    public void Restore(long streamTime) => StreamTime = Math.Max(StreamTime, streamTime);

    /// <summary>An event stamped <paramref name="timestampMs"/> was read at <paramref name="nowMs"/>.</summary>
    public void Advance(long timestampMs, long nowMs)
    {
        var capped = Math.Min(timestampMs, nowMs + _maxLeadMs);
        if (capped > StreamTime)
        {
            StreamTime = capped;
            Changed = true;
        }
    }

    /// <summary>Stream time was written to the store.</summary>
    public void Written() => Changed = false;

    /// <summary>The time windows close by: stream time or wall clock, whichever is ahead, never going back.</summary>
    public long CloseClock(long nowMs)
    {
        _closeClock = Math.Max(_closeClock, Math.Max(nowMs, StreamTime));
        return _closeClock;
    }
}
