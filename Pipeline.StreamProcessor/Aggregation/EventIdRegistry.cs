using System.Globalization;
using Streamiz.Kafka.Net.State;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// Dedupe: the (event key, id) pairs seen within <c>Aggregation:DedupeWindow</c> of stream time,
/// each with the source offset it was first seen at, kept in the event-ids store. A second
/// sighting at another offset is a duplicate (a client's retry); one at the same offset is this
/// processor's own attempt from before a crash, whose key record the crash lost. An id is
/// remembered from the stream time at which it was first seen, not from its own timestamp: a late
/// event (stamped hours ago) retried by its client a second later must still be recognised, or it
/// would be counted twice in its all-time totals.
/// <para>
/// Memory: every remembered id is held until its window passes. With a <see cref="DedupeBudget"/>,
/// an id that would take the instance past <c>Aggregation:DedupeMaxIds</c> makes this registry
/// forget its own oldest ids first; its effective window is then shorter than the configured one,
/// and a duplicate older than it is counted again (reported by the budget).
/// </para>
/// </summary>
internal sealed class EventIdRegistry(IKeyValueStore<string, byte[]> store, TimeSpan dedupeWindow, DedupeBudget? budget = null, string task = "")
{
    private readonly long _windowMs = (long)dedupeWindow.TotalMilliseconds;
    private readonly PriorityQueue<string, long> _expiry = new();

    private bool Enabled => _windowMs > 0;

    /// <summary>How many ids wait to be forgotten.</summary>
    public int Remembered => _expiry.Count;

    /// <summary>
    /// For an event read again after a restart, whose effect is already in its key's record: its
    /// id may not have reached the store before the crash, so it is remembered now.
    /// </summary>
    public void EnsureRemembered(string key, string id, long offset, long streamTime)
    {
        var storeKey = StoreKey(key, id);
        if (Enabled && store.Get(storeKey) is null)
        {
            Remember(storeKey, offset, streamTime);
        }
    }

    /// <summary>
    /// For an event not applied yet: true when the same key and id were first seen at another
    /// offset within the window. Otherwise the id is remembered (or remembered anew, once expired).
    /// </summary>
    public bool IsDuplicate(string key, string id, long offset, long streamTime)
    {
        if (!Enabled)
        {
            return false;
        }

        var storeKey = StoreKey(key, id);
        var seen = store.Get(storeKey);
        var expired = false;
        if (seen is not null)
        {
            var (firstOffset, firstSeenMs) = StateCodec.ReadEventId(seen);
            expired = streamTime > firstSeenMs + _windowMs;
            if (firstOffset != offset && !expired)
            {
                return true;
            }
        }

        // A sighting at this very offset is our own attempt from before a crash: apply it.
        if (seen is null || expired)
        {
            Remember(storeKey, offset, streamTime);
        }

        return false;
    }

    /// <summary>Deletes the ids whose window has passed in stream time.</summary>
    public void ForgetExpired(long streamTime)
    {
        while (_expiry.TryPeek(out var storeKey, out var expiresAt) && expiresAt < streamTime)
        {
            _expiry.Dequeue();
            budget?.Release(1);
            // The id may have been seen again since (an expired one is remembered anew): check.
            var seen = store.Get(storeKey);
            if (seen is not null && StateCodec.ReadEventId(seen).TimestampMs + _windowMs < streamTime)
            {
                store.Delete(storeKey);
            }
        }
    }

    /// <summary>The task is closing (revoked, or the stream stops): its ids no longer count against the bound.</summary>
    public void Release()
    {
        budget?.Release(_expiry.Count);
        _expiry.Clear();
    }

    /// <summary>Once the store is restored: schedules every stored id to be forgotten; returns how many the store holds.</summary>
    public int Recover(long streamTime)
    {
        var count = 0;
        foreach (var (storeKey, bytes) in store.All())
        {
            if (bytes is null)
            {
                continue;
            }

            count++;
            if (Enabled)
            {
                _expiry.Enqueue(storeKey, StateCodec.ReadEventId(bytes).TimestampMs + _windowMs);
            }
        }

        if (Enabled && budget is not null)
        {
            budget.Add(_expiry.Count);
            if (budget.IsOver)
            {
                KeepWithinBudget(streamTime);
            }
        }

        return count;
    }

    private void Remember(string storeKey, long offset, long streamTime)
    {
        store.Put(storeKey, StateCodec.WriteEventId(offset, streamTime));
        _expiry.Enqueue(storeKey, streamTime + _windowMs);
        if (budget is not null)
        {
            budget.Add(1);
            if (budget.IsOver)
            {
                KeepWithinBudget(streamTime);
            }
        }
    }

    /// <summary>
    /// Forgets this registry's oldest ids until the instance is back within its bound (or this
    /// registry has none left to give). An id is deleted from the store only if the queue entry is
    /// its latest sighting: an id remembered anew has a later entry that still holds it.
    /// </summary>
    private void KeepWithinBudget(long streamTime)
    {
        var excess = budget!.Count - budget.MaxIds;
        var evicted = 0;
        while (evicted < excess && _expiry.TryDequeue(out var storeKey, out var expiresAt))
        {
            evicted++;
            if (store.Get(storeKey) is { } seen && StateCodec.ReadEventId(seen).TimestampMs + _windowMs <= expiresAt)
            {
                store.Delete(storeKey);
            }
        }

        if (evicted > 0)
        {
            // What is left: ids first seen at or after the oldest remaining entry's sighting.
            var oldestSeen = _expiry.TryPeek(out _, out var oldestExpiry) ? oldestExpiry - _windowMs : streamTime;
            budget.Evicted(evicted, TimeSpan.FromMilliseconds(Math.Max(0, streamTime - oldestSeen)), task);
        }
    }

    /// <summary>The store's key: the event key's length first, so no two (key, id) pairs collide.</summary>
    private static string StoreKey(string key, string id) =>
        string.Create(CultureInfo.InvariantCulture, $"{key.Length}:{key}{id}");
}
