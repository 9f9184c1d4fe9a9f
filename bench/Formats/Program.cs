// The record formats side by side in one run: bytes per record on `events` and `aggregates`, and
// the stream processor's events/s (the real Streamiz topology on a local broker), JSON against
// Avro (Confluent wire format, local Schema Registry). Rounds alternate JSON and Avro, each on a
// fresh broker, and the best round of each format is reported.
// Usage: dotnet run -c Release --project bench/Formats -- [events] [keys] [rounds] [--json figures.json]
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Bench;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;

const int Partitions = 4;
const string ApplicationId = "bench-formats";

var positional = BenchmarkResult.WithoutJsonOption(args);
var eventCount = positional.Length > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 60_000;
var keyCount = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 1_000;
var rounds = Math.Max(1, positional.Length > 2 ? int.Parse(positional[2], CultureInfo.InvariantCulture) : 2);

await using var registry = await LocalSchemaRegistry.StartAsync();
using var registryClient = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url });
var formats = new[] { PipelineRecordFormat.Json, new AvroRecordFormat(registryClient) };
Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, " +
    $"{eventCount:N0} events over {keyCount:N0} keys, {Partitions} partitions, {rounds} rounds per format, registry {registry.Url}");

var events = MakeEvents(eventCount, keyCount);
var codec = new Dictionary<RecordFormat, CodecCost>();
foreach (var format in formats)
{
    codec[format.Format] = MeasureCodec(format, events);
    Console.WriteLine($"{format.Format,-4} codec alone: {codec[format.Format]}");
}

Pipeline.Bench.Formats.SerdeCost.Print(registryClient, formats[1], events);

var best = new Dictionary<RecordFormat, FormatRun>();
for (var round = 0; round < rounds; round++)
{
    foreach (var format in formats)
    {
        var run = Run(format, events);
        Console.WriteLine($"round {round + 1} {format.Format,-4}: {run.Rate,8:N0} events/s, events {run.EventBytes,5:F1} B/record, aggregates {run.AggregateBytes,5:F1} B/record " +
            $"(key {run.AggregateKeyBytes:F1} + value {run.AggregateValueBytes:F1}), {run.Aggregates:N0} aggregate records, totals {(run.Exact ? "exact" : "MISMATCH")}");
        if (!best.TryGetValue(format.Format, out var held) || held.Rate < run.Rate)
        {
            best[format.Format] = run;
        }
    }
}

var json = best[RecordFormat.Json];
var avro = best[RecordFormat.Avro];
Console.WriteLine();
Console.WriteLine($"| | JSON | Avro | Avro / JSON |");
Console.WriteLine($"| --- | ---: | ---: | ---: |");
Console.WriteLine($"| `events`, bytes per record (value) | {json.EventBytes:F1} | {avro.EventBytes:F1} | {avro.EventBytes / json.EventBytes:F2} |");
Console.WriteLine($"| `aggregates`, bytes per record (key + value) | {json.AggregateBytes:F1} | {avro.AggregateBytes:F1} | {avro.AggregateBytes / json.AggregateBytes:F2} |");
Console.WriteLine($"| stream processor, events/s (best round) | {json.Rate:N0} | {avro.Rate:N0} | {avro.Rate / json.Rate:F2} |");
Console.WriteLine($"| codec alone, write + read one event, µs | {codec[RecordFormat.Json].Event:F2} | {codec[RecordFormat.Avro].Event:F2} | {codec[RecordFormat.Avro].Event / codec[RecordFormat.Json].Event:F2} |");

var figures = new BenchmarkResult("formats");
figures.Describe("librdkafka", Library.VersionString);
figures.Add("`events` bytes per record, Avro", avro.EventBytes, "B", "JSON", json.EventBytes);
figures.Add("`aggregates` bytes per record (key + value), Avro", avro.AggregateBytes, "B", "JSON", json.AggregateBytes);
figures.Add("stream processor events/s, Avro", avro.Rate, "events/s", "JSON", json.Rate);
figures.Add("codec alone: write + read one event, Avro", codec[RecordFormat.Avro].Event * 1000, "ns", "JSON", codec[RecordFormat.Json].Event * 1000);
figures.Add("codec alone: write + read one aggregate (key + value), Avro", codec[RecordFormat.Avro].Aggregate * 1000, "ns", "JSON", codec[RecordFormat.Json].Aggregate * 1000);
var exact = best.Values.All(run => run.Exact);
figures.WriteIfRequested(args, exact);
return exact ? 0 : 1;

static List<PipelineEvent> MakeEvents(int count, int keys)
{
    var random = new Random(42);
    var now = DateTimeOffset.UtcNow;
    return [.. Enumerable.Range(0, count).Select(_ => new PipelineEvent(
        Guid.NewGuid().ToString("D"), $"sensor-{random.Next(keys)}", Math.Round(random.NextDouble() * 2000 - 1000, 3), now.AddMilliseconds(random.Next(-60_000, 60_000))))];
}

// What one record costs to write and read in this process, without Kafka or Streamiz.
static CodecCost MeasureCodec(PipelineRecordFormat format, List<PipelineEvent> events)
{
    var sample = events.Take(20_000).ToList();
    var aggregates = sample.Select((e, i) => new AggregateRecord(e.Key, "1m", e.Timestamp, e.Timestamp.AddMinutes(1), i, e.Value, e.Value, e.Value, e.Value, false, i, e.Timestamp)).ToList();
    _ = format.ReadEvent(format.WriteEvent(sample[0]));
    _ = format.ReadAggregate(format.WriteAggregate(aggregates[0]));
    _ = format.WriteAggregateKey(aggregates[0].Id);
    var clock = Stopwatch.StartNew();
    var written = sample.Select(format.WriteEvent).ToList();
    var writeEvent = clock.Elapsed.TotalMicroseconds / sample.Count;
    clock.Restart();
    foreach (var value in written)
    {
        _ = format.ReadEvent(value);
    }

    var readEvent = clock.Elapsed.TotalMicroseconds / sample.Count;
    clock.Restart();
    var writtenAggregates = aggregates.Select(a => (format.WriteAggregateKey(a.Id), format.WriteAggregate(a))).ToList();
    var writeAggregate = clock.Elapsed.TotalMicroseconds / sample.Count;
    clock.Restart();
    foreach (var (_, value) in writtenAggregates)
    {
        _ = format.ReadAggregate(value);
    }

    var readAggregate = clock.Elapsed.TotalMicroseconds / sample.Count;
    return new CodecCost(writeEvent, readEvent, writeAggregate, readAggregate);
}

static FormatRun Run(PipelineRecordFormat format, List<PipelineEvent> events)
{
    using var broker = LocalKafkaBroker.Start();
    foreach (var topic in Topics.All.Concat(StreamProcessorTopology.InternalTopics(ApplicationId)))
    {
        broker.CreateTopic(topic, Partitions);
    }

    long eventBytes = 0;
    using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 20 }).Build())
    {
        foreach (var pipelineEvent in events)
        {
            var value = format.WriteEvent(pipelineEvent);
            eventBytes += value.Length;
            BenchClients.ProduceEvent(producer, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(pipelineEvent.Key), Value = value, Timestamp = new Timestamp(pipelineEvent.Timestamp) });
        }

        producer.Flush(TimeSpan.FromMinutes(1));
    }

    var totals = events.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => ((long)g.Count(), g.Sum(e => e.Value)));
    using var meter = new Meter(StreamProcessorTelemetry.Name);
    using var clock = new ProcessedClock(meter, events.Count);

    var blueprint = new AggregatorBlueprint(AggregationSettings.From(new AggregationOptions { Grace = "1h" }), new StreamProcessorMetrics(meter), NullLogger.Instance, RecordFormat: format);
    using var stream = StreamConfiguration.CreateStream(blueprint, new StreamProcessorOptions { ApplicationId = ApplicationId }, broker.BootstrapServers, NullLoggerFactory.Instance);
    using var reader = BenchClients.AggregatesReader(broker.BootstrapServers);
    reader.Subscribe(Topics.Aggregates);
    stream.StartAsync().GetAwaiter().GetResult();

    var allTime = new Dictionary<string, AggregateRecord>();
    long keyBytes = 0, valueBytes = 0, aggregates = 0;
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
    while (DateTime.UtcNow < deadline && !Matches(allTime, totals))
    {
        if (reader.Consume(TimeSpan.FromMilliseconds(100)) is not { } result)
        {
            continue;
        }

        aggregates++;
        keyBytes += result.Message.Key.Length;
        valueBytes += result.Message.Value.Length;
        var update = format.ReadAggregate(result.Message.Value).Message ?? throw new InvalidOperationException("An aggregate the format cannot read.");
        if (update.Window == WindowNames.AllTime && (!allTime.TryGetValue(update.Key, out var held) || held.Version < update.Version))
        {
            allTime[update.Key] = update;
        }
    }

    return new FormatRun(
        format.Format,
        events.Count / clock.FirstToLast.TotalSeconds,
        (double)eventBytes / events.Count,
        (double)keyBytes / aggregates,
        (double)valueBytes / aggregates,
        aggregates,
        Matches(allTime, totals));
}

static bool Matches(Dictionary<string, AggregateRecord> allTime, Dictionary<string, (long Count, double Sum)> totals) =>
    allTime.Count == totals.Count && totals.All(total => allTime.TryGetValue(total.Key, out var update)
        && update.Count == total.Value.Count && Math.Abs(update.Sum - total.Value.Sum) <= 1e-6 * Math.Max(1, Math.Abs(total.Value.Sum)));

internal sealed record CodecCost(double WriteEvent, double ReadEvent, double WriteAggregate, double ReadAggregate)
{
    public double Event => WriteEvent + ReadEvent;

    public double Aggregate => WriteAggregate + ReadAggregate;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"write event {WriteEvent:F2} µs, read event {ReadEvent:F2} µs, write aggregate key + value {WriteAggregate:F2} µs, read aggregate {ReadAggregate:F2} µs");
}

internal sealed record FormatRun(RecordFormat Format, double Rate, double EventBytes, double AggregateKeyBytes, double AggregateValueBytes, long Aggregates, bool Exact)
{
    public double AggregateBytes => AggregateKeyBytes + AggregateValueBytes;
}
