// The processor's memory per remembered event id and per key: the same structures the service
// keeps (Streamiz's in-memory store holding UTF-8 keys, as its string serde writes them; the
// dedupe registry's expiry queue; the key-state cache and records), filled with N ids and then N
// keys, measured as managed heap after a full collection and as resident memory (VmRSS).
using System.Globalization;
using System.Text;
using Pipeline.StreamProcessor.Aggregation;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Crosscutting;
using Streamiz.Kafka.Net.Processors;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.State.Enumerator;
using Streamiz.Kafka.Net.State.InMemory;

namespace Pipeline.Bench.Processor;

internal static class MemoryPhase
{
    public static (MemoryFigure Ids, MemoryFigure Keys) Run(int count)
    {
        var settings = AggregationSettings.Default;
        var before = Measure();

        var idStore = new StringKeyStore("event-ids");
        var registry = new EventIdRegistry(idStore, settings.DedupeWindow);
        var streamTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < count; i++)
        {
            // Ids as the API's clients send them (a GUID's 32 hex digits) under keys like sensor-123.
            registry.IsDuplicate($"sensor-{i % 1000}", Guid.NewGuid().ToString("N"), i, streamTime + i / 10);
            if (i % 10_000 == 9_999)
            {
                registry.WriteRemembered(); // as at a commit
            }
        }

        registry.WriteRemembered();

        var withIds = Measure();

        var keyStore = new StringKeyStore("aggregates");
        var keys = new KeyStates(new ProcessorStore(keyStore));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < count; i++)
        {
            var key = $"sensor-{i}";
            var state = keys.Load(key);
            foreach (var size in settings.Windows)
            {
                state.Window(size, size.StartOf(now), out _).Add(1, i, now, default, now);
            }

            state.AllTime().Add(1, i, now, default, now);
            state.LastAppliedOffset = i;
            keys.Changed(key);
            if (i % 10_000 == 9_999)
            {
                // As at a commit: written to the store, then the cache trimmed to its bound.
                keys.WriteChanged((_, _) => { });
                keys.TrimCache();
            }
        }

        keys.WriteChanged((_, _) => { });
        keys.TrimCache();
        var withKeys = Measure();
        GC.KeepAlive(registry); // both held to the end: the key figure is what keys add to ids
        GC.KeepAlive(idStore);
        GC.KeepAlive(keys);
        GC.KeepAlive(keyStore);
        return (new MemoryFigure(withIds.Heap - before.Heap, withIds.Resident - before.Resident, count),
            new MemoryFigure(withKeys.Heap - withIds.Heap, withKeys.Resident - withIds.Resident, count));
    }

    private static (long Heap, long Resident) Measure()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return (GC.GetTotalMemory(forceFullCollection: false), ResidentBytes());
    }

    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return Environment.WorkingSet;
    }

    /// <summary>
    /// Streamiz's in-memory store under a string key, as the service's metered store keeps it
    /// (keys as UTF-8 bytes); no changelog, which lives in Kafka, not in the processor's memory.
    /// </summary>
    private sealed class StringKeyStore(string name) : IKeyValueStore<string, byte[]>
    {
        private readonly InMemoryKeyValueStore _inner = new(name);

        public string Name => name;
        public bool Persistent => false;
        public bool IsLocally => true;
        public bool IsOpen => true;

        public void Init(ProcessorContext context, IStateStore root) => throw new NotSupportedException();

        public void Flush()
        {
        }

        public void Close()
        {
        }

        public byte[] Get(string key) => _inner.Get(Bytes.Wrap(Encoding.UTF8.GetBytes(key)));

        public void Put(string key, byte[] value) => _inner.Put(Bytes.Wrap(Encoding.UTF8.GetBytes(key)), value);

        public byte[] Delete(string key) => _inner.Delete(Bytes.Wrap(Encoding.UTF8.GetBytes(key)));

        public byte[] PutIfAbsent(string key, byte[] value) => throw new NotSupportedException();

        public void PutAll(IEnumerable<KeyValuePair<string, byte[]>> entries) => throw new NotSupportedException();

        public IKeyValueEnumerator<string, byte[]> Range(string from, string to) => throw new NotSupportedException();

        public IKeyValueEnumerator<string, byte[]> ReverseRange(string from, string to) => throw new NotSupportedException();

        public IEnumerable<KeyValuePair<string, byte[]>> All() => throw new NotSupportedException();

        public IEnumerable<KeyValuePair<string, byte[]>> ReverseAll() => throw new NotSupportedException();

        public long ApproximateNumEntries() => _inner.ApproximateNumEntries();
    }
}

/// <summary>What N ids or keys cost: managed heap and resident memory, in bytes.</summary>
internal sealed record MemoryFigure(long HeapBytes, long ResidentBytes, int Count)
{
    public double HeapPerItem => (double)HeapBytes / Count;
    public double ResidentPerItem => (double)ResidentBytes / Count;
}
