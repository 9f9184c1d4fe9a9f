namespace Pipeline.Web.DeadLetters;

/// <summary>The latest dead letters, newest first, for every open page.</summary>
public sealed class RecentDeadLetters
{
    public const int Capacity = 20;

    private readonly Lock _gate = new();
    private readonly LinkedList<DeadLetter> _latest = new();

    /// <summary>Raised on the reading thread after a dead letter was added.</summary>
    public event Action? Changed;

    /// <summary>How many dead letters were read since the app started (older ones included).</summary>
    public long Seen { get; private set; }

    public IReadOnlyList<DeadLetter> Latest()
    {
        lock (_gate)
        {
            return [.. _latest];
        }
    }

    public void Add(DeadLetter deadLetter)
    {
        lock (_gate)
        {
            Seen++;
            // Partitions are read side by side, so keep the list in time order rather than arrival order.
            var after = _latest.First;
            while (after is not null && after.Value.Timestamp > deadLetter.Timestamp)
            {
                after = after.Next;
            }

            if (after is null)
            {
                _latest.AddLast(deadLetter);
            }
            else
            {
                _latest.AddBefore(after, deadLetter);
            }

            while (_latest.Count > Capacity)
            {
                _latest.RemoveLast();
            }
        }

        Changed?.Invoke();
    }
}
