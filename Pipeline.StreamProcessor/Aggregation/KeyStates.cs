namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// The key states of one task: read from the aggregates store on first use, cached (clean ones up
/// to <see cref="MaxCachedKeys"/>), and written back once per key and commit, not once per event.
/// </summary>
internal sealed class KeyStates(ProcessorStore store)
{
    /// <summary>Holds at most this many clean key states in memory; beyond it they are read back from the store.</summary>
    internal const int MaxCachedKeys = 100_000;

    private const string KeyRecordPrefix = "k";

    private readonly Dictionary<string, KeyState> _cached = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);

    public KeyState Load(string key)
    {
        if (!_cached.TryGetValue(key, out var state))
        {
            var bytes = store.Records.Get(KeyRecordPrefix + key);
            state = bytes is null ? new KeyState() : StateCodec.ReadKeyState(bytes);
            _cached[key] = state;
        }

        return state;
    }

    /// <summary>The key's state changed: it is written with the next flush.</summary>
    public void Changed(string key) => _changed.Add(key);

    /// <summary>Writes every changed key's state to the store, handing each aggregate that moved on to <paramref name="written"/>.</summary>
    public void WriteChanged(Action<string, AggregateState> written)
    {
        foreach (var key in _changed)
        {
            var state = _cached[key];
            store.Records.Put(KeyRecordPrefix + key, StateCodec.Write(state));
            foreach (var aggregate in state.Aggregates)
            {
                if (aggregate.Version > aggregate.CapturedVersion)
                {
                    aggregate.CapturedVersion = aggregate.Version;
                    written(key, aggregate);
                }
            }
        }

        _changed.Clear();
    }

    /// <summary>Every key state the store holds, as restored.</summary>
    public IEnumerable<(string Key, KeyState State)> Stored()
    {
        foreach (var (recordKey, bytes) in store.Records.All())
        {
            if (recordKey.StartsWith(KeyRecordPrefix, StringComparison.Ordinal) && bytes is not null)
            {
                yield return (recordKey[KeyRecordPrefix.Length..], StateCodec.ReadKeyState(bytes));
            }
        }
    }

    /// <summary>Keeps a restored state that still has work to do, so that it is not read again.</summary>
    public void Keep(string key, KeyState state) => _cached.TryAdd(key, state);

    /// <summary>Drops the clean states from memory once there are too many.</summary>
    public void TrimCache()
    {
        if (_cached.Count <= MaxCachedKeys)
        {
            return;
        }

        foreach (var key in _cached.Keys.Where(key => !_changed.Contains(key)).ToList())
        {
            _cached.Remove(key);
        }
    }
}
