using System.Globalization;
using Streamiz.Kafka.Net.State;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// Dedupe: the (event key, id) pairs seen within <c>Aggregation:DedupeWindow</c> of stream time,
/// each with the source offset it was first seen at. A second sighting at another offset is a
/// duplicate (a client's retry); one at the same offset is this processor's own attempt from
/// before a crash, whose key record the crash lost. An id is remembered from the stream time at
/// which it was first seen, not from its own timestamp: a late event (stamped hours ago) retried
/// by its client a second later must still be recognised, or it would be counted twice in its
/// all-time totals.
/// <para>
/// Durable per commit, not per id. The ids are looked up in memory; the ids first seen since the
/// last commit go to the event-ids store (and so to its changelog) as one record when the task
/// flushes (<see cref="WriteRemembered"/>, with the key records, before the commit), split only
/// past <see cref="MaxRecordBytes"/>. One changelog record per id cost two fifths of the
/// processor's events per second (bench/Processor/README.md). A record is deleted once the
/// window has passed for all its ids. A restore reads every record back, and also the one-id
/// records an older processor wrote.
/// </para>
/// <para>
/// Memory: every remembered id is held until its window passes. With a <see cref="DedupeBudget"/>,
/// an id that would take the instance past <c>Aggregation:DedupeMaxIds</c> makes this registry
/// forget its own oldest ids first; its effective window is then shorter than the configured one,
/// and a duplicate older than it is counted again (reported by the budget). A record that lost
/// some of its ids that way is written again without them at the next flush.
/// </para>
/// </summary>
internal sealed class EventIdRegistry(IKeyValueStore<string, byte[]> store, TimeSpan dedupeWindow, DedupeBudget? budget = null, string task = "")
{
    /// <summary>Keeps a record well under Kafka's default 1 MB message size.</summary>
    internal const int MaxRecordBytes = 256 * 1024;

    /// <summary>Starts the store key of a record of ids; the key of an older one-id record starts with a digit.</summary>
    private const char RecordMark = '#';

    private readonly long _windowMs = (long)dedupeWindow.TotalMilliseconds;
    private readonly Dictionary<string, Sighting> _seen = [];
    private readonly Queue<IdRecord> _written = new(); // oldest first
    private readonly HashSet<IdRecord> _shrunk = [];
    private IdRecord? _pending;

    private bool Enabled => _windowMs > 0;

    /// <summary>
    /// How many ids wait to be forgotten (an id seen anew after its window counts twice until its
    /// older sighting goes).
    /// </summary>
    public int Remembered { get; private set; }

    /// <summary>
    /// For an event read again after a restart, whose effect is already in its key's record: its
    /// id may not have reached the store before the crash, so it is remembered now.
    /// </summary>
    public void EnsureRemembered(string key, string id, long offset, long streamTime)
    {
        var idKey = IdKey(key, id);
        if (Enabled && !_seen.ContainsKey(idKey))
        {
            Remember(idKey, offset, streamTime);
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

        var idKey = IdKey(key, id);
        if (_seen.TryGetValue(idKey, out var seen) && streamTime <= seen.SeenMs + _windowMs)
        {
            // A sighting at this very offset is our own attempt from before a crash: apply it.
            return seen.Offset != offset;
        }

        Remember(idKey, offset, streamTime);
        return false;
    }

    /// <summary>Called when the task flushes, before its commit: the ids seen since the last one go to the store.</summary>
    public void WriteRemembered()
    {
        WritePending();
        foreach (var record in _shrunk)
        {
            // Still written (not forgotten whole since): the ids it has left.
            store.Put(record.StoreKey, StateCodec.WriteEventIds(record.Ids, record.Forgotten));
        }

        _shrunk.Clear();
    }

    /// <summary>Forgets the records whose window has passed in stream time for every id they hold.</summary>
    public void ForgetExpired(long streamTime)
    {
        while (_written.TryPeek(out var record) && record.NewestSeenMs + _windowMs < streamTime)
        {
            _written.Dequeue();
            var held = record.Ids.Count - record.Forgotten;
            for (var i = record.Forgotten; i < record.Ids.Count; i++)
            {
                Unindex(record.Ids[i].Id, record);
            }

            Remembered -= held;
            budget?.Release(held);
            _shrunk.Remove(record);
            store.Delete(record.StoreKey);
        }
    }

    /// <summary>The task is closing (revoked, or the stream stops): its ids no longer count against the bound.</summary>
    public void Release()
    {
        budget?.Release(Remembered);
        Remembered = 0;
        _seen.Clear();
        _written.Clear();
        _shrunk.Clear();
        _pending = null;
    }

    /// <summary>Once the store is restored: indexes every stored id and schedules it to be forgotten; returns how many the store holds.</summary>
    public int Recover(long streamTime)
    {
        var records = new List<IdRecord>();
        var count = 0;
        foreach (var (storeKey, bytes) in store.All())
        {
            if (bytes is null)
            {
                continue;
            }

            var record = new IdRecord(storeKey);
            if (storeKey.Length > 0 && storeKey[0] == RecordMark)
            {
                record.Ids.AddRange(StateCodec.ReadEventIds(bytes));
            }
            else
            {
                var (offset, seenMs) = StateCodec.ReadEventId(bytes);
                record.Ids.Add(new RememberedId(storeKey, offset, seenMs));
            }

            count += record.Ids.Count;
            records.Add(record);
        }

        if (!Enabled)
        {
            return count;
        }

        foreach (var record in records.OrderBy(record => record.NewestSeenMs))
        {
            foreach (var id in record.Ids)
            {
                // An id seen anew after its window is in two records: the later sighting holds.
                if (!_seen.TryGetValue(id.Id, out var seen) || seen.SeenMs < id.SeenMs)
                {
                    _seen[id.Id] = new Sighting(id.Offset, id.SeenMs, record);
                }
            }

            _written.Enqueue(record);
        }

        Remembered = count;
        if (budget is not null)
        {
            budget.Add(count);
            if (budget.IsOver)
            {
                KeepWithinBudget(streamTime);
            }
        }

        return count;
    }

    private void Remember(string idKey, long offset, long streamTime)
    {
        _pending ??= new IdRecord($"{RecordMark}{Guid.NewGuid():N}");
        _pending.Ids.Add(new RememberedId(idKey, offset, streamTime));
        _pending.Bytes += 3 * idKey.Length + 24;
        _seen[idKey] = new Sighting(offset, streamTime, _pending);
        Remembered++;
        if (_pending.Bytes >= MaxRecordBytes)
        {
            WritePending();
        }

        if (budget is not null)
        {
            budget.Add(1);
            if (budget.IsOver)
            {
                KeepWithinBudget(streamTime);
            }
        }
    }

    private void WritePending()
    {
        if (_pending is { } record)
        {
            store.Put(record.StoreKey, StateCodec.WriteEventIds(record.Ids, record.Forgotten));
            _written.Enqueue(record);
            _pending = null;
        }
    }

    /// <summary>
    /// Forgets this registry's oldest ids until the instance is back within its bound (or this
    /// registry has none left to give). A record that loses all its ids is deleted; one that loses
    /// some is written again without them at the next flush.
    /// </summary>
    private void KeepWithinBudget(long streamTime)
    {
        var excess = budget!.Count - budget.MaxIds;
        var evicted = 0;
        while (evicted < excess && Oldest() is { } record)
        {
            Unindex(record.Ids[record.Forgotten].Id, record);
            record.Forgotten++;
            evicted++;
            if (record.Forgotten < record.Ids.Count)
            {
                if (record != _pending)
                {
                    _shrunk.Add(record);
                }
            }
            else if (record == _pending)
            {
                _pending = null; // never written
            }
            else
            {
                _written.Dequeue();
                _shrunk.Remove(record);
                store.Delete(record.StoreKey);
            }
        }

        if (evicted > 0)
        {
            Remembered -= evicted;
            // What is left: ids first seen at or after the oldest remaining one.
            var oldestSeen = Oldest() is { } oldest ? oldest.Ids[oldest.Forgotten].SeenMs : streamTime;
            budget.Evicted(evicted, TimeSpan.FromMilliseconds(Math.Max(0, streamTime - oldestSeen)), task);
        }
    }

    private IdRecord? Oldest() => _written.TryPeek(out var record) ? record : _pending;

    /// <summary>Drops an id from the index unless a later sighting, in another record, holds it.</summary>
    private void Unindex(string idKey, IdRecord record)
    {
        if (_seen.TryGetValue(idKey, out var seen) && seen.Record == record)
        {
            _seen.Remove(idKey);
        }
    }

    /// <summary>The event key's length first, so no two (key, id) pairs collide.</summary>
    private static string IdKey(string key, string id) =>
        string.Create(CultureInfo.InvariantCulture, $"{key.Length}:{key}{id}");

    private readonly record struct Sighting(long Offset, long SeenMs, IdRecord Record);

    /// <summary>The ids of one store record, oldest first; the first <see cref="Forgotten"/> of them were forgotten early.</summary>
    private sealed class IdRecord(string storeKey)
    {
        public string StoreKey { get; } = storeKey;

        public List<RememberedId> Ids { get; } = [];

        public int Forgotten { get; set; }

        /// <summary>An upper bound of the record's size, for a pending one.</summary>
        public int Bytes { get; set; }

        public long NewestSeenMs => Ids.Count == 0 ? long.MinValue : Ids[^1].SeenMs;
    }
}
