using System.Globalization;

namespace Pipeline.Bench.Ingest;

/// <summary>The benchmark's bounds; every one can be given as <c>--name value</c>.</summary>
internal sealed record BenchSettings(
    int Events,
    int SingleEvents,
    int BatchSize,
    int BatchConcurrency,
    int Concurrency,
    int HighConcurrency,
    int Partitions,
    int MaxSeconds,
    int LingerMs,
    int QueryKeys,
    int QueryRequests,
    int WarmupSeconds,
    TimeSpan ProduceTimeout)
{
    public TimeSpan MaxDuration => TimeSpan.FromSeconds(MaxSeconds);

    public static BenchSettings Parse(string[] args)
    {
        var values = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["events"] = 200_000,
            ["single-events"] = 20_000,
            ["batch-size"] = 1_000,
            ["batch-concurrency"] = 4,
            ["concurrency"] = 64,
            ["high-concurrency"] = 256,
            ["partitions"] = 8,
            ["max-seconds"] = 60,
            ["linger-ms"] = -1, // the API's default
            ["query-keys"] = 1_000_000, // 0: no query phase
            ["query-requests"] = 2_000,
            ["warmup-seconds"] = 15,
        };
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var name = args[i].TrimStart('-');
            if (name == "json")
            {
                continue; // where the figures go, read by BenchmarkResult
            }

            if (!values.ContainsKey(name))
            {
                throw new ArgumentException($"Unknown option --{name}; known: {string.Join(", ", values.Keys.Select(k => "--" + k))}.");
            }

            values[name] = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }

        return new BenchSettings(
            Math.Clamp(values["events"], 1_000, 2_000_000),
            Math.Clamp(values["single-events"], 100, 500_000),
            Math.Clamp(values["batch-size"], 1, 10_000),
            Math.Clamp(values["batch-concurrency"], 1, 64),
            Math.Clamp(values["concurrency"], 1, 512),
            Math.Clamp(values["high-concurrency"], 1, 1024),
            Math.Clamp(values["partitions"], 1, 64),
            Math.Clamp(values["max-seconds"], 5, 600),
            values["linger-ms"] < 0 ? Pipeline.Api.Events.EventIngestExtensions.DefaultLingerMs : Math.Min(values["linger-ms"], 1000),
            values["query-keys"] <= 0 ? 0 : Math.Clamp(values["query-keys"], 2_000, 10_000_000),
            Math.Clamp(values["query-requests"], 100, 100_000),
            Math.Clamp(values["warmup-seconds"], 0, 600),
            TimeSpan.FromSeconds(30));
    }
}

/// <summary>What one phase achieved. A phase cut short by its time bound says so.</summary>
internal sealed record PhaseResult(string Name, long Events, long Failed, TimeSpan Elapsed, bool TimedOut, Latencies? Requests = null)
{
    public double EventsPerSecond => Events / Elapsed.TotalSeconds;
}

/// <summary>Request latencies as the client saw them, in milliseconds.</summary>
internal sealed record Latencies(double Mean, double P50, double P99)
{
    public static Latencies? Of(IReadOnlyCollection<double> milliseconds)
    {
        if (milliseconds.Count == 0)
        {
            return null;
        }

        var sorted = milliseconds.Order().ToArray();
        return new Latencies(sorted.Average(), sorted[(int)(0.50 * (sorted.Length - 1))], sorted[(int)(0.99 * (sorted.Length - 1))]);
    }

    public override string ToString() => FormattableString.Invariant($"mean {Mean:0.0} ms, p50 {P50:0.0} ms, p99 {P99:0.0} ms");
}
