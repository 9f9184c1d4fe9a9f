using System.Diagnostics;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// One aggregate of one key: a tumbling window (<see cref="SizeMs"/> &gt; 0) or the all-time
/// totals (<see cref="SizeMs"/> = 0). Everything but the last three fields is persisted.
/// </summary>
internal sealed class AggregateState
{
    public long SizeMs { get; init; }
    public long StartMs { get; init; }
    public long Count { get; set; }

    /// <summary>Running sum; <see cref="Compensation"/> holds what rounding lost (Neumaier), so <see cref="Total"/> is near exact.</summary>
    public double Sum { get; set; }
    public double Compensation { get; set; }
    public double Min { get; set; } = double.PositiveInfinity;
    public double Max { get; set; } = double.NegativeInfinity;

    /// <summary>
    /// Raised by every change; what the aggregates topic and the sink order updates by. Made from
    /// the source offset of the event behind the change (<see cref="VersionOf"/>), plus one when
    /// the window closes, not from a counter kept in the state: if a key's state were ever lost and
    /// started again, its next versions would still be above every version stored before, so no
    /// row of the sink could stay frozen at an old figure.
    /// </summary>
    public long Version { get; set; }

    /// <summary>The highest version already on the aggregates topic (as far as this state knows).</summary>
    public long EmittedVersion { get; set; }

    /// <summary>Wall-clock time of the last change, in Unix milliseconds.</summary>
    public long UpdatedAtMs { get; set; }
    public bool Final { get; set; }

    /// <summary>Not persisted: the highest version handed to the emitter, so it is handed over once.</summary>
    public long CapturedVersion { get; set; }

    /// <summary>Not persisted: the processing span of the last event that changed this aggregate.</summary>
    public ActivityContext LastEvent { get; set; }

    /// <summary>Not persisted: the timestamp of the last event that changed this aggregate, in Unix milliseconds.</summary>
    public long? LastEventTimestampMs { get; set; }

    public bool IsAllTime => SizeMs == 0;
    public long EndMs => StartMs + SizeMs;
    public double Total => Sum + Compensation;

    /// <summary>The version a change caused by the event at <paramref name="sourceOffset"/> gets: even, so that closing can add one.</summary>
    public static long VersionOf(long sourceOffset) => 2 * (sourceOffset + 1);

    public void Add(double value, long sourceOffset, long nowMs, ActivityContext trace, long eventTimestampMs)
    {
        var sum = Sum + value;
        if (double.IsFinite(sum))
        {
            Compensation += Math.Abs(Sum) >= Math.Abs(value) ? (Sum - sum) + value : (value - sum) + Sum;
        }

        Sum = sum;
        Count++;
        Min = Math.Min(Min, value);
        Max = Math.Max(Max, value);
        // Offsets only grow within a partition, and a key lives in one; Max keeps it strict regardless.
        Version = Math.Max(Version + 1, VersionOf(sourceOffset));
        Touch(nowMs);
        LastEvent = trace;
        LastEventTimestampMs = eventTimestampMs;
    }

    public void Close(long nowMs)
    {
        Final = true;
        Version++;
        Touch(nowMs);
    }

    private void Touch(long nowMs)
    {
        // Never backwards, even if the wall clock is.
        UpdatedAtMs = Math.Max(UpdatedAtMs, nowMs);
    }
}

/// <summary>
/// Everything the processor knows about one event key, stored as one record so that a change
/// and the source offset that caused it are written together: after a crash the record is
/// either before or after an event, never half-way.
/// </summary>
internal sealed class KeyState
{
    /// <summary>The highest source offset already applied to this key; replays at or below it are skipped.</summary>
    public long LastAppliedOffset { get; set; } = -1;

    /// <summary>Per window size, the end of the newest window already closed: nothing at or before it opens again.</summary>
    public Dictionary<long, long> ClosedThrough { get; } = [];

    public List<AggregateState> Aggregates { get; } = [];

    public AggregateState AllTime()
    {
        foreach (var aggregate in Aggregates)
        {
            if (aggregate.IsAllTime)
            {
                return aggregate;
            }
        }

        var allTime = new AggregateState { SizeMs = 0, StartMs = 0 };
        Aggregates.Add(allTime);
        return allTime;
    }

    public AggregateState Window(WindowSize size, long startMs, out bool created)
    {
        foreach (var aggregate in Aggregates)
        {
            if (aggregate.SizeMs == size.Milliseconds && aggregate.StartMs == startMs)
            {
                created = false;
                return aggregate;
            }
        }

        var window = new AggregateState { SizeMs = size.Milliseconds, StartMs = startMs };
        Aggregates.Add(window);
        created = true;
        return window;
    }

    public long ClosedThroughFor(long sizeMs) => ClosedThrough.TryGetValue(sizeMs, out var end) ? end : long.MinValue;

    public void MarkClosed(AggregateState window)
    {
        if (window.EndMs > ClosedThroughFor(window.SizeMs))
        {
            ClosedThrough[window.SizeMs] = window.EndMs;
        }
    }

    /// <summary>The earliest moment (end plus grace) one of this key's open windows is due to close.</summary>
    public long NextCloseAt(long graceMs)
    {
        var next = long.MaxValue;
        foreach (var aggregate in Aggregates)
        {
            if (!aggregate.IsAllTime && !aggregate.Final)
            {
                next = Math.Min(next, aggregate.EndMs + graceMs);
            }
        }

        return next;
    }
}
