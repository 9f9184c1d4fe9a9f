// Events per second through Pipeline.StreamProcessor (the real Streamiz topology) against a raw
// Confluent.Kafka consume-transform-produce loop, on the same local Kafka broker, in one run;
// then the processor's latency from an event to the update that carries it.
// Usage: dotnet run -c Release --project bench/Processor -- [events] [keys] [--json figures.json]
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Bench;
using Pipeline.Bench.Processor;
using Pipeline.Contracts;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;
using Streamiz.Kafka.Net;

const int Partitions = 8;
const string ApplicationId = "bench-processor";
const string RawOutput = "raw-aggregates";

var positional = BenchmarkResult.WithoutJsonOption(args);
if (positional.Length > 0 && positional[0] == "--memory")
{
    return Memory(positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 1_000_000, args);
}

if (positional.Length > 0 && positional[0] == "--growth")
{
    // --growth [events] [keys,keys,...]: events/s over each number of distinct keys, the first size the baseline.
    var growthEvents = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 1_000_000;
    var sizes = positional.Length > 2 ? positional[2].Split(',').Select(size => int.Parse(size, CultureInfo.InvariantCulture)).ToArray() : [1_000, 100_000, 1_000_000];
    Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}; {growthEvents:N0} events over each of {string.Join(", ", sizes.Select(size => size.ToString("N0", CultureInfo.InvariantCulture)))} keys");
    var growth = new BenchmarkResult("growth");
    growth.Describe("librdkafka", Library.VersionString);
    // Warmed up first, as the throughput run is, so that the first size is not the one that pays for the JIT.
    var warmupRate = GrowthPhase.Run(60_000, sizes[0]);
    Console.WriteLine($"  warm-up, not measured: 60,000 events over {sizes[0]:N0} keys, {warmupRate:N0} events/s");
    double? smallest = null;
    foreach (var size in sizes)
    {
        var rate = GrowthPhase.Run(growthEvents, size);
        Console.WriteLine($"  {size,9:N0} keys: {rate,9:N0} events/s");
        if (smallest is null)
        {
            smallest = rate;
            growth.Add($"stream processor, {growthEvents:N0} events over {size:N0} keys", rate, "events/s");
        }
        else
        {
            growth.Add($"stream processor, {growthEvents:N0} events over {size:N0} keys", rate, "events/s", $"the same over {sizes[0]:N0} keys", smallest.Value);
        }
    }

    growth.WriteIfRequested(args, completed: true);
    return 0;
}

// --warmup N: events run through the raw loop and the processor first, on a broker of their
// own, and not measured. A run of a few seconds otherwise measures the JIT: perf showed a third
// of the stream thread's samples in not-yet-optimized code and the JIT's thread taking a sixth
// of the machine, which a service that runs for hours pays once.
var warmupIndex = Array.IndexOf(positional, "--warmup");
var warmupCount = 60_000;
if (warmupIndex >= 0)
{
    warmupCount = int.Parse(positional[warmupIndex + 1], CultureInfo.InvariantCulture);
    positional = [.. positional.Take(warmupIndex), .. positional.Skip(warmupIndex + 2)];
}

var eventCount = positional.Length > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 150_000;
var keyCount = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 1_000;

var warmupExact = true;
if (warmupCount > 0)
{
    var warming = Stopwatch.StartNew();
    using var warmupBroker = StartBroker();

    var warmupUnique = ProduceEvents(warmupBroker.BootstrapServers, warmupCount, keyCount);
    RunRawLoop(warmupBroker.BootstrapServers, warmupCount);
    var warmed = RunProcessor(warmupBroker.BootstrapServers, warmupCount, warmupUnique, measureLatency: false);
    Console.WriteLine($"Warm-up, not measured:     {warmupCount:N0} events through the raw loop and the processor on a broker of their own " +
        $"({warming.Elapsed.TotalSeconds:F1} s; totals {(warmed.Exact ? "exact" : "MISMATCH")})");
    warmupExact = warmed.Exact;
}

using var broker = StartBroker();

Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, local broker {broker.BootstrapServers}, {Partitions} partitions per topic");
var produced = Stopwatch.StartNew();
var unique = ProduceEvents(broker.BootstrapServers, eventCount, keyCount);
Console.WriteLine($"Produced {eventCount:N0} events ({unique:N0} distinct ids, {keyCount:N0} keys) in {produced.Elapsed.TotalSeconds:F1} s");

var raw = RunRawLoop(broker.BootstrapServers, eventCount);
Console.WriteLine($"Raw Confluent.Kafka loop:  {raw.Rate,9:N0} events/s ({raw.Elapsed.TotalSeconds:F2} s from first to last event, one output record per event)");

var processor = RunProcessor(broker.BootstrapServers, eventCount, unique);
Console.WriteLine($"Stream processor:          {processor.Rate,9:N0} events/s ({processor.Elapsed.TotalSeconds:F2} s from first to last event, {processor.Emitted:N0} aggregate records)");
Console.WriteLine($"Ratio processor / raw:     {processor.Rate / raw.Rate:P0}");
Console.WriteLine($"All-time totals check:     {(processor.Exact ? "every key's count and sum exact" : "MISMATCH")}");
Console.WriteLine($"Latency event -> update:   {processor.Latency}");

var figures = new BenchmarkResult("processor");
figures.Describe("librdkafka", Library.VersionString);
figures.Add("stream processor", processor.Rate, "events/s", "raw Confluent.Kafka consume-transform-produce loop", raw.Rate);
if (processor.Latency.Count > 0)
{
    figures.Add("stream processor, event to update on `aggregates`, p50", processor.Latency.P50, "ms");
    figures.Add("stream processor, event to update on `aggregates`, p99", processor.Latency.P99, "ms");
}

figures.WriteIfRequested(args, processor.Exact && warmupExact && processor.Latency.Count > 0);
return processor.Exact && warmupExact ? 0 : 1;

// The memory per remembered event id and per key, and what a dedupe window of 1 h costs.
static int Memory(int count, string[] args)
{
    Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}; memory after {count:N0} event ids, then {count:N0} keys");
    var (ids, keys) = MemoryPhase.Run(count);
    Console.WriteLine($"Per event id: {ids.HeapPerItem:N0} bytes of managed heap, {ids.ResidentPerItem:N0} bytes resident");
    Console.WriteLine($"Per key:      {keys.HeapPerItem:N0} bytes of managed heap, {keys.ResidentPerItem:N0} bytes resident " +
        $"(at most {KeyStates.MaxCachedKeys:N0} clean key states stay cached; beyond that a key costs its store record only)");
    var window = AggregationSettings.Default.DedupeWindow;
    var figures = new BenchmarkResult("memory");
    figures.Add($"processor memory per remembered event id (resident, after {count:N0} ids)", ids.ResidentPerItem, "bytes");
    figures.Add($"processor memory per remembered event id (managed heap, after {count:N0} ids)", ids.HeapPerItem, "bytes");
    figures.Add($"processor memory per key (resident, after {count:N0} keys)", keys.ResidentPerItem, "bytes");
    figures.Add($"processor memory per key (managed heap, after {count:N0} keys)", keys.HeapPerItem, "bytes");
    foreach (var rate in new[] { 1_000, 10_000 })
    {
        var held = rate * window.TotalSeconds;
        var mib = held * Math.Max(ids.ResidentPerItem, ids.HeapPerItem) / (1024 * 1024);
        Console.WriteLine($"Aggregation:DedupeWindow {window.TotalHours:0.#} h at {rate:N0} events/s: {held:N0} ids, about {mib:N0} MiB");
        figures.Add($"dedupe window {window.TotalHours:0.#} h at {rate:N0} events/s ({held:N0} ids)", mib, "MiB");
    }

    figures.WriteIfRequested(args, completed: true);
    return 0;
}

// A local broker with every topic the raw loop and the processor use, 8 partitions each.
static LocalKafkaBroker StartBroker()
{
    var broker = LocalKafkaBroker.Start();
    foreach (var topic in Topics.All.Append(RawOutput).Concat(StreamProcessorTopology.InternalTopics(ApplicationId)))
    {
        broker.CreateTopic(topic, Partitions);
    }

    return broker;
}

static int ProduceEvents(string bootstrapServers, int count, int keys)
{
    using var producer = BenchClients.EventProducer(bootstrapServers);
    var random = new Random(42);
    var now = DateTimeOffset.UtcNow;
    var sent = new List<PipelineEvent>(count);
    for (var i = 0; i < count; i++)
    {
        // One in twenty is a client's retry of an earlier event.
        var next = sent.Count > 0 && random.Next(20) == 0
            ? sent[random.Next(sent.Count)]
            : new PipelineEvent(Guid.NewGuid().ToString("N"), $"key-{random.Next(keys)}", random.Next(-1000, 1000) / 8.0, now.AddMilliseconds(random.Next(-60_000, 60_000)));
        sent.Add(next);
        BenchClients.ProduceEvent(producer, new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes(next.Key),
            Value = PipelineJson.Serialize(next),
            Timestamp = new Timestamp(next.Timestamp),
        });
    }

    producer.Flush(TimeSpan.FromMinutes(1));
    Totals = sent.DistinctBy(e => e.Id).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => ((long)g.Count(), g.Sum(e => e.Value)));
    return Totals.Values.Sum(total => (int)total.Item1);
}

// Consume, update per-key window and all-time aggregates in memory, produce the updated all-time
// aggregate for every event, commit every 100 ms: at-least-once, no dedupe, no state store.
static (double Rate, TimeSpan Elapsed) RunRawLoop(string bootstrapServers, int count)
{
    using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
    {
        BootstrapServers = bootstrapServers,
        GroupId = "raw-loop",
        FetchWaitMaxMs = 20,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
    }).Build();
    using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
    }).Build();
    consumer.Subscribe(Topics.Events);

    var aggregates = new Dictionary<(string Key, long Size, long Start), (long Count, double Sum, double Min, double Max)>();
    long[] sizes = [60_000, 3_600_000, 0];
    var clock = new Stopwatch();
    var lastCommit = TimeSpan.Zero;
    var consumed = 0;
    while (consumed < count)
    {
        var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
        if (result is null)
        {
            continue;
        }

        if (consumed++ == 0)
        {
            clock.Start();
        }

        var pipelineEvent = PipelineJson.Deserialize<PipelineEvent>(result.Message.Value);
        var at = pipelineEvent.Timestamp.ToUnixTimeMilliseconds();
        (long Count, double Sum, double Min, double Max) allTime = default;
        foreach (var size in sizes)
        {
            var id = (pipelineEvent.Key, size, size == 0 ? 0 : at - at % size);
            var (n, sum, min, max) = aggregates.GetValueOrDefault(id, (0, 0, double.PositiveInfinity, double.NegativeInfinity));
            aggregates[id] = allTime = (n + 1, sum + pipelineEvent.Value, Math.Min(min, pipelineEvent.Value), Math.Max(max, pipelineEvent.Value));
        }

        var record = new AggregateRecord(pipelineEvent.Key, WindowNames.AllTime, WindowNames.AllTimeStart, null,
            allTime.Count, allTime.Sum, allTime.Min, allTime.Max, allTime.Sum / allTime.Count, false, allTime.Count, DateTimeOffset.UtcNow);
        producer.Produce(RawOutput, new Message<byte[], byte[]> { Key = PipelineJson.Serialize(record.Id), Value = PipelineJson.Serialize(record) });
        if (clock.Elapsed - lastCommit > TimeSpan.FromMilliseconds(100))
        {
            producer.Flush(TimeSpan.FromSeconds(30));
            consumer.Commit(result);
            lastCommit = clock.Elapsed;
        }
    }

    producer.Flush(TimeSpan.FromSeconds(30));
    clock.Stop();
    consumer.Close();
    return (count / clock.Elapsed.TotalSeconds, clock.Elapsed);
}

static ProcessorRun RunProcessor(string bootstrapServers, int count, int unique, bool measureLatency = true)
{
    using var meter = new Meter(StreamProcessorTelemetry.Name);
    var metrics = new StreamProcessorMetrics(meter);
    using var clock = new ProcessedClock(meter, count);

    var blueprint = new AggregatorBlueprint(AggregationSettings.From(new AggregationOptions { Grace = "1h" }), metrics, NullLogger.Instance);
    using var stream = StreamConfiguration.CreateStream(
        blueprint, new StreamProcessorOptions { ApplicationId = ApplicationId }, bootstrapServers, NullLoggerFactory.Instance);
    using var reader = BenchClients.AggregatesReader(bootstrapServers);
    reader.Subscribe(Topics.Aggregates);
    stream.StartAsync().GetAwaiter().GetResult();

    // Read updates until every key's all-time totals match what was sent.
    var allTime = new Dictionary<string, AggregateRecord>();
    var emitted = 0;
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
    while (DateTime.UtcNow < deadline && !Matches(allTime))
    {
        var result = reader.Consume(TimeSpan.FromMilliseconds(100));
        if (result is null)
        {
            continue;
        }

        emitted++;
        var update = PipelineJson.Deserialize<AggregateRecord>(result.Message.Value);
        if (update.Window == WindowNames.AllTime && (!allTime.TryGetValue(update.Key, out var held) || held.Version < update.Version))
        {
            allTime[update.Key] = update;
        }
    }

    // Read what is left of the burst first, so the latency phase starts from a quiet pipeline.
    var quietSince = Stopwatch.StartNew();
    while (quietSince.Elapsed < TimeSpan.FromSeconds(1))
    {
        if (reader.Consume(TimeSpan.FromMilliseconds(50)) is not null)
        {
            quietSince.Restart();
        }
    }

    var latency = measureLatency ? MeasureLatency(bootstrapServers, reader) : new Latency(0, 0, 0, 0);
    return new ProcessorRun(count / clock.FirstToLast.TotalSeconds, clock.FirstToLast, emitted, Matches(allTime), latency);
}

static bool Matches(Dictionary<string, AggregateRecord> allTime) =>
    allTime.Count == Totals.Count && Totals.All(total => allTime.TryGetValue(total.Key, out var update) && (update.Count, update.Sum) == total.Value);

// Steady traffic on fresh keys: 400 events/s for 5 s. For every event, the time from producing it
// to reading back the first all-time update of its key that counts it.
static Latency MeasureLatency(string bootstrapServers, IConsumer<byte[], byte[]> reader)
{
    using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 0 }).Build();
    // Connected and holding its producer id before the clock starts.
    producer.Produce("raw-aggregates", new Message<byte[], byte[]> { Value = [0] });
    producer.Flush(TimeSpan.FromSeconds(10));
    var pending = new Dictionary<string, Queue<(long Count, long SentAt)>>();
    var counts = new Dictionary<string, long>();
    var latencies = new List<double>();
    var random = new Random(7);
    var clock = Stopwatch.StartNew();
    var next = TimeSpan.Zero;
    while (clock.Elapsed < TimeSpan.FromSeconds(6))
    {
        if (clock.Elapsed < TimeSpan.FromSeconds(5) && clock.Elapsed >= next)
        {
            var key = $"latency-{random.Next(20)}";
            var count = counts[key] = counts.GetValueOrDefault(key) + 1;
            var pipelineEvent = new PipelineEvent(Guid.NewGuid().ToString("N"), key, 1, DateTimeOffset.UtcNow);
            producer.Produce(Topics.Events, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = PipelineJson.Serialize(pipelineEvent), Timestamp = new Timestamp(pipelineEvent.Timestamp) });
            if (!pending.TryGetValue(key, out var queue))
            {
                pending[key] = queue = new Queue<(long Count, long SentAt)>();
            }

            queue.Enqueue((count, Stopwatch.GetTimestamp()));
            next += TimeSpan.FromMilliseconds(2.5);
        }

        var result = reader.Consume(TimeSpan.Zero);
        if (result is null)
        {
            producer.Poll(TimeSpan.Zero);
            Thread.Sleep(1);
            continue;
        }

        var update = PipelineJson.Deserialize<AggregateRecord>(result.Message.Value);
        if (update.Window == WindowNames.AllTime && pending.TryGetValue(update.Key, out var waiting))
        {
            while (waiting.TryPeek(out var sent) && sent.Count <= update.Count)
            {
                latencies.Add(Stopwatch.GetElapsedTime(waiting.Dequeue().SentAt).TotalMilliseconds);
            }
        }
    }

    latencies.Sort();
    return latencies.Count == 0 ? new Latency(0, 0, 0, 0) : new Latency(Percentile(0.50), Percentile(0.99), latencies[^1], latencies.Count);

    double Percentile(double p) => latencies[(int)Math.Min(latencies.Count - 1, Math.Floor(p * latencies.Count))];
}

internal sealed record ProcessorRun(double Rate, TimeSpan Elapsed, int Emitted, bool Exact, Latency Latency);

/// <summary>Event-to-update latency in milliseconds over <see cref="Count"/> events.</summary>
internal sealed record Latency(double P50, double P99, double Max, int Count)
{
    public override string ToString() => Count == 0
        ? "no updates read"
        : $"p50 {P50:F0} ms, p99 {P99:F0} ms, max {Max:F0} ms over {Count:N0} events";
}

internal partial class Program
{
    /// <summary>Each key's distinct-event count and sum, as produced.</summary>
    private static Dictionary<string, (long, double)> Totals { get; set; } = [];
}
