using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Table;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// One of the processor's stores (aggregates, event ids) as Streamiz builds it (metered,
/// change-logged, in memory or RocksDB), plus one thing Streamiz does not offer a processor: a
/// call at the start of every flush. A task flushes its stores right before it waits for its
/// produced records to be acknowledged and commits its offsets, so the processor writes its
/// pending state there (once per key and commit, and the ids of a commit together, not once per
/// event) and learns which of its updates are durable and may be emitted. Whichever store a task
/// flushes first makes the call, so every write lands before any store's own flush.
/// </summary>
internal sealed class ProcessorStore(IKeyValueStore<string, byte[]> records) : IStateStore
{
    private Action? _beforeFlush;

    /// <summary>
    /// The key-value records. Aggregates: <c>k{event key}</c> for key state, <c>m{name}</c> for task
    /// metadata. Event ids: see <see cref="EventIdRegistry"/>.
    /// </summary>
    public IKeyValueStore<string, byte[]> Records => records;

    public string Name => records.Name;
    public bool Persistent => records.Persistent;
    public bool IsLocally => records.IsLocally;
    public bool IsOpen => records.IsOpen;

    /// <summary>Sets the call made at the start of each flush (one processor per task owns the store).</summary>
    public void OnFlush(Action? beforeFlush) => _beforeFlush = beforeFlush;

    public void Init(ProcessorContext context, IStateStore root) => records.Init(context, root);

    public void Flush()
    {
        _beforeFlush?.Invoke();
        records.Flush();
    }

    public void Close()
    {
        _beforeFlush = null;
        records.Close();
    }
}

/// <summary>Builds an <see cref="ProcessorStore"/> around the store a Streamiz builder makes.</summary>
internal sealed class ProcessorStoreBuilder(IStoreBuilder<IKeyValueStore<string, byte[]>> records) : IStoreBuilder
{
    public bool IsWindowStore => false;
    public long RetentionMs => throw new NotSupportedException("A processor store is not a window store.");
    public IDictionary<string, string> LogConfig => records.LogConfig;
    public bool LoggingEnabled => records.LoggingEnabled;
    public string Name => records.Name;
    public CacheSize CacheSize => records.CacheSize;

    public IStateStore Build(IStreamConfig config) => new ProcessorStore(records.Build(config));
}
