using Pipeline.StreamProcessor.Aggregation;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.State.Enumerator;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// The event-ids store as a restarted processor finds it: what the registry wrote at its flushes
/// (one record per commit, not per id), and what an older processor wrote (one record per id).
/// The processor-level behaviour (duplicates dropped across restarts and kill -9) is in
/// <see cref="DedupeAndDeadLetterTests"/>, <see cref="RestartTests"/> and <see cref="KillNineTests"/>.
/// </summary>
public sealed class EventIdRegistryTests
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private const long Start = 1_700_000_000_000;

    [Fact]
    public void TheIdsSeenBetweenTwoFlushesAreWrittenAsOneRecordThatARestoreReadsBack()
    {
        var store = new RecordingStore();
        var registry = new EventIdRegistry(store, Window);
        for (var i = 0; i < 1000; i++)
        {
            Assert.False(registry.IsDuplicate($"sensor-{i % 10}", $"id-{i}", i, Start + i));
        }

        Assert.Equal(0, store.Puts); // nothing written per event
        registry.WriteRemembered();
        Assert.Equal(1, store.Puts);

        var restored = new EventIdRegistry(store, Window);
        Assert.Equal(1000, restored.Recover(Start + 1000));
        Assert.True(restored.IsDuplicate("sensor-3", "id-3", 2000, Start + 1000)); // a client's retry
        Assert.False(restored.IsDuplicate("sensor-4", "id-4", 4, Start + 1000)); // our own attempt before a crash: apply it
        Assert.False(restored.IsDuplicate("sensor-4", "id-3", 2001, Start + 1000)); // the same id under another key
        Assert.Equal(1001, restored.Remembered);
    }

    [Fact]
    public void ARestoreReadsTheOneIdRecordsAnOlderProcessorWroteAndForgetsThemWhenTheirWindowHasPassed()
    {
        var store = new RecordingStore();
        store.Put("6:sensoride-1", StateCodec.WriteEventId(5, Start)); // key "sensor", id "ide-1"
        var registry = new EventIdRegistry(store, Window);

        Assert.Equal(1, registry.Recover(Start));
        Assert.True(registry.IsDuplicate("sensor", "ide-1", 6, Start + 1));
        Assert.False(registry.IsDuplicate("sensor", "ide-1", 5, Start + 1));

        registry.ForgetExpired(Start + (long)Window.TotalMilliseconds + 1);
        Assert.Null(store.Get("6:sensoride-1"));
        Assert.False(registry.IsDuplicate("sensor", "ide-1", 7, Start + (long)Window.TotalMilliseconds + 2));
    }

    [Fact]
    public void ARecordGoesOnlyOnceTheWindowHasPassedForTheLastIdItHolds()
    {
        var store = new RecordingStore();
        var registry = new EventIdRegistry(store, Window);
        registry.IsDuplicate("k", "first", 1, Start);
        registry.IsDuplicate("k", "last", 2, Start + 10);
        registry.WriteRemembered();
        var windowMs = (long)Window.TotalMilliseconds;

        registry.ForgetExpired(Start + windowMs + 5);
        Assert.Equal(1, store.Count);
        Assert.False(registry.IsDuplicate("k", "first", 3, Start + windowMs + 5)); // its own window has passed
        Assert.True(registry.IsDuplicate("k", "last", 4, Start + windowMs + 5));

        registry.WriteRemembered();
        registry.ForgetExpired(Start + windowMs + 11);
        Assert.Equal(1, store.Count); // only the record of "first" seen anew is left
        var restored = new EventIdRegistry(store, Window);
        Assert.Equal(1, restored.Recover(Start + windowMs + 11));
        Assert.True(restored.IsDuplicate("k", "first", 5, Start + windowMs + 11));
        Assert.False(restored.IsDuplicate("k", "last", 6, Start + windowMs + 11));
    }

    [Fact]
    public void ManyIdsBetweenTwoFlushesAreSplitIntoRecordsThatFitAKafkaMessage()
    {
        var store = new RecordingStore();
        var registry = new EventIdRegistry(store, Window);
        var key = new string('k', 200);
        for (var i = 0; i < 5000; i++)
        {
            registry.IsDuplicate(key, $"{i:D100}", i, Start);
        }

        registry.WriteRemembered();

        Assert.InRange(store.Puts, 2, 20);
        Assert.All(store.Values, value => Assert.True(value.Length <= EventIdRegistry.MaxRecordBytes, $"{value.Length} bytes"));
        var restored = new EventIdRegistry(store, Window);
        Assert.Equal(5000, restored.Recover(Start));
        Assert.True(restored.IsDuplicate(key, $"{4999:D100}", 1, Start));
    }

    /// <summary>A store in a sorted dictionary that counts its writes; the registry needs only these calls.</summary>
    private sealed class RecordingStore : IKeyValueStore<string, byte[]>
    {
        private readonly SortedDictionary<string, byte[]> _records = new(StringComparer.Ordinal);

        public int Puts { get; private set; }

        public int Count => _records.Count;

        public IEnumerable<byte[]> Values => _records.Values;

        public string Name => "event-ids";
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

        public byte[] Get(string key) => _records.GetValueOrDefault(key)!;

        public void Put(string key, byte[] value)
        {
            Puts++;
            _records[key] = value;
        }

        public byte[] Delete(string key) => _records.Remove(key, out var value) ? value : null!;

        public IEnumerable<KeyValuePair<string, byte[]>> All() => _records.ToList();

        public byte[] PutIfAbsent(string key, byte[] value) => throw new NotSupportedException();

        public void PutAll(IEnumerable<KeyValuePair<string, byte[]>> entries) => throw new NotSupportedException();

        public IKeyValueEnumerator<string, byte[]> Range(string from, string to) => throw new NotSupportedException();

        public IKeyValueEnumerator<string, byte[]> ReverseRange(string from, string to) => throw new NotSupportedException();

        public IEnumerable<KeyValuePair<string, byte[]>> ReverseAll() => throw new NotSupportedException();

        public long ApproximateNumEntries() => _records.Count;
    }
}
