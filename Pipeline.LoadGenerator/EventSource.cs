namespace Pipeline.LoadGenerator;

/// <summary>One event as the generator sends it; its timestamp is always explicit, so the oracle knows its windows.</summary>
internal sealed record GeneratedEvent(string Id, string Key, double Value, DateTimeOffset Timestamp, bool Late);

/// <summary>Draws the run's events: keys by skew, values by distribution, some late, some repeated.</summary>
internal sealed class EventSource(LoadOptions options, TimeProvider time)
{
    // Far enough back that every window of every size the pipeline keeps has closed, and well
    // inside the API's maximum event age.
    private static readonly TimeSpan LateBy = TimeSpan.FromHours(3);

    private readonly Random _random = options.Seed is { } seed ? new Random(seed) : new Random();
    private readonly Lock _gate = new();
    private readonly List<GeneratedEvent> _sent = [];

    /// <summary>The key of index <paramref name="index"/> in this run.</summary>
    public string KeyAt(int index) => $"{options.KeyPrefix}-{index:D5}";

    /// <summary>The next event: new, or (by the duplicate ratio) one sent before, unchanged.</summary>
    public GeneratedEvent Next()
    {
        lock (_gate)
        {
            if (_sent.Count > 0 && _random.NextDouble() < options.DuplicateRatio)
            {
                return _sent[_random.Next(_sent.Count)];
            }

            var late = _random.NextDouble() < options.LateRatio;
            var timestamp = time.GetUtcNow();
            var generated = new GeneratedEvent(
                Guid.NewGuid().ToString("N"),
                KeyAt(NextKeyIndex()),
                options.Values.Next(_random),
                late ? timestamp - LateBy : timestamp,
                late);
            if (_sent.Count < 100_000)
            {
                _sent.Add(generated);
            }
            else
            {
                _sent[_random.Next(_sent.Count)] = generated;
            }

            return generated;
        }
    }

    private int NextKeyIndex()
    {
        var skew = options.Skew;
        var hotKeys = Math.Min(skew.HotKeys, options.Keys);
        if (hotKeys > 0 && hotKeys < options.Keys)
        {
            return _random.NextDouble() < skew.HotShare
                ? _random.Next(hotKeys)
                : hotKeys + _random.Next(options.Keys - hotKeys);
        }

        return _random.Next(options.Keys);
    }
}
