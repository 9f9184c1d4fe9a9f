namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// Closes windows when their end plus <c>Aggregation:Grace</c> is reached by the task's close
/// clock (stream time or the wall clock, <see cref="StreamClock"/>), also when no event arrives.
/// Each key remembers the end of its newest closed window per size, so a late event is refused for
/// good, also after a restart.
/// </summary>
internal sealed class WindowCloser(TimeSpan grace)
{
    private readonly long _graceMs = (long)grace.TotalMilliseconds;
    private readonly PriorityQueue<string, long> _closing = new();

    /// <summary>Open windows waiting to close.</summary>
    public int Waiting => _closing.Count;

    /// <summary>Whether a window ending at <paramref name="endMs"/> has closed (or must be treated as closed) by <paramref name="closeClock"/>.</summary>
    public bool IsClosed(KeyState state, long sizeMs, long endMs, long closeClock) =>
        endMs <= state.ClosedThroughFor(sizeMs) || endMs + _graceMs <= closeClock;

    /// <summary>A key's window ending at <paramref name="endMs"/> is open: schedules its close.</summary>
    public void Opened(string key, long endMs) => _closing.Enqueue(key, endMs + _graceMs);

    /// <summary>Closes every window due by <paramref name="closeClock"/>; returns whether any closed.</summary>
    public bool CloseDue(KeyStates keys, long closeClock, long nowMs)
    {
        var closedAny = false;
        while (_closing.TryPeek(out var key, out var dueAt) && dueAt <= closeClock)
        {
            _closing.Dequeue();
            var state = keys.Load(key);
            foreach (var aggregate in state.Aggregates)
            {
                if (!aggregate.IsAllTime && !aggregate.Final && aggregate.EndMs + _graceMs <= closeClock)
                {
                    aggregate.Close(nowMs);
                    state.MarkClosed(aggregate);
                    keys.Changed(key);
                    closedAny = true;
                }
            }
        }

        return closedAny;
    }
}
