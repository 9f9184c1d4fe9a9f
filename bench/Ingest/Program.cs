// Ingest benchmark: events/s through POST /api/events/batch, through single POST /api/events with
// many concurrent clients, and through a raw Confluent.Kafka producer with the API's settings, all
// against one local broker, in one run; where a single event's and a batch's time goes, and what
// linger.ms 5 would cost; the batch path with the backlog check (backpressure) on and off side by
// side; and the query endpoints with 1k keys and with --query-keys in the database. Bounded in
// count and time; loopback only.
//
//   dotnet run -c Release --project bench/Ingest [-- --events 200000 --single-events 20000 --concurrency 64 --high-concurrency 256 --query-keys 1000000 --max-seconds 60 --json figures.json]

using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Bench;
using Pipeline.Bench.Ingest;
using Pipeline.Contracts;
using Pipeline.Migrator;

var settings = BenchSettings.Parse(args);
Console.WriteLine($"Ingest benchmark: {Environment.ProcessorCount} cores, .NET {Environment.Version}, librdkafka {Library.VersionString}");
Console.WriteLine($"  batch phase {settings.Events:N0} events in batches of {settings.BatchSize:N0} ({settings.BatchConcurrency} concurrent requests); " +
    $"single phase {settings.SingleEvents:N0} events ({settings.Concurrency} concurrent clients); raw phase {settings.Events:N0} events; each phase at most {settings.MaxSeconds} s");

using var broker = LocalKafkaBroker.Start();
broker.CreateTopic(Topics.Events, settings.Partitions);
// Backpressure watches the sink's topic too; with it missing the check would never run.
broker.CreateTopic(Topics.Aggregates, settings.Partitions);

await using var postgres = await LocalPostgresServer.StartAsync();
await postgres.CreateDatabaseAsync("pipelinedb");
var linger = new Dictionary<string, string> { ["Kafka:Producer:linger.ms"] = settings.LingerMs.ToString(CultureInfo.InvariantCulture) };
await using var api = new InProcessApi(broker.BootstrapServers, postgres.ConnectionString("pipelinedb"), settings.ProduceTimeout, settings: linger);
using var http = api.CreateClient(settings.Concurrency);
var events = new EventBodies(settings);

// Long enough for the JIT's tiered compilation to reach the ingest path's steady code: with only
// ten batches, the first measured rounds ran at half the rate of the backpressure rounds later
// in the same run; with 200 batches (about 2 s), the three measured rounds still rose from one to
// the next (the batch path 94k, 101k, 142k, 235k events/s; the raw producer 230k then 516k).
// So both paths are driven, alternately, for a fixed time.
Console.WriteLine($"Warming up for {settings.WarmupSeconds} s...");
var warming = Stopwatch.StartNew();
while (warming.Elapsed < TimeSpan.FromSeconds(settings.WarmupSeconds))
{
    await IngestPhases.BatchesAsync(http, events.Batches(200), settings.BatchConcurrency, TimeSpan.FromSeconds(60));
    RawProducer.Run(broker.BootstrapServers, events.Records(200_000), settings.ProduceTimeout, TimeSpan.FromSeconds(60), settings.LingerMs);
}

await IngestPhases.SinglesAsync(http, events.Singles(5000), settings.Concurrency, TimeSpan.FromSeconds(60));

// The batch path and the raw producer, alternated three times so that a busy machine's noise
// falls on both (the raw phase lasts well under a second); the best of each is compared.
var batchRounds = new List<(PhaseResult Batch, PhaseResult Raw)>();
var batchServerMs = new List<double>();
var batchProduceMs = new List<double>();
for (var round = 0; round < 3; round++)
{
    Console.WriteLine($"Batch and raw producer, round {round + 1}:");
    using var batchTimes = new RequestTimes("batch");
    var batchResult = await IngestPhases.BatchesAsync(http, events.Batches(settings.Events / settings.BatchSize), settings.BatchConcurrency, settings.MaxDuration);
    batchServerMs.Add(batchTimes.ServerMs);
    batchProduceMs.Add(batchTimes.ProduceMs);
    batchRounds.Add((batchResult,
        RawProducer.Run(broker.BootstrapServers, events.Records(settings.Events), settings.ProduceTimeout, settings.MaxDuration, settings.LingerMs)));
}

var bestBatch = batchRounds.FindIndex(round => round.Batch == batchRounds.MaxBy(r => r.Batch.EventsPerSecond).Batch);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Where a batch request's time goes (best round, {settings.BatchConcurrency} in flight, means): client sees {batchRounds[bestBatch].Batch.Requests?.Mean:0.00} ms, " +
    $"read + parse + checks {batchServerMs[bestBatch] - batchProduceMs[bestBatch]:0.00} ms, produce to last delivery report {batchProduceMs[bestBatch]:0.00} ms"));

// What of the gap is per-record work any producer of these events must do: the raw producer with
// the API's serialization inside its clock, with and without the trace header, and the plain raw
// producer, alternated three times so that the machine's noise falls on all three; best of each.
var recordWorkRounds = new List<(PhaseResult Plain, PhaseResult Serialized, PhaseResult WithHeader)>();
for (var round = 0; round < 3; round++)
{
    Console.WriteLine($"Raw producer: plain, with the API's serialization, and with its trace header too, round {round + 1}:");
    recordWorkRounds.Add((
        RawProducer.Run(broker.BootstrapServers, events.Records(settings.Events), settings.ProduceTimeout, settings.MaxDuration, settings.LingerMs),
        RawProducer.RunWithApiRecordWork(broker.BootstrapServers, events.Events(settings.Events), settings.ProduceTimeout, settings.MaxDuration, settings.LingerMs, traceHeader: false),
        RawProducer.RunWithApiRecordWork(broker.BootstrapServers, events.Events(settings.Events), settings.ProduceTimeout, settings.MaxDuration, settings.LingerMs)));
}

var plainRaw = recordWorkRounds.Select(round => round.Plain).MaxBy(result => result.EventsPerSecond)!;
var withSerializationOnly = recordWorkRounds.Select(round => round.Serialized).MaxBy(result => result.EventsPerSecond)!;
var withRecordWork = recordWorkRounds.Select(round => round.WithHeader).MaxBy(result => result.EventsPerSecond)!;

var results = new List<PhaseResult> { batchRounds.Select(round => round.Batch).MaxBy(result => result.EventsPerSecond)! };
PhaseResult singles;
double serverMs, produceMs;
using (var times = new RequestTimes())
{
    singles = await IngestPhases.SinglesAsync(http, events.Singles(settings.SingleEvents), settings.Concurrency, settings.MaxDuration);
    (serverMs, produceMs) = (times.ServerMs, times.ProduceMs);
}

results.Add(singles);
using (var highClient = api.CreateClient(settings.HighConcurrency))
{
    await IngestPhases.SinglesAsync(highClient, events.Singles(1000), settings.HighConcurrency, TimeSpan.FromSeconds(30)); // its connections
    results.Add(await IngestPhases.SinglesAsync(highClient, events.Singles(settings.SingleEvents), settings.HighConcurrency, settings.MaxDuration));
}

results.Add(batchRounds.Select(round => round.Raw).MaxBy(result => result.EventsPerSecond)!);

// Where a single event's time goes: the client's view, the ingest handler's, and the produce
// path's within it; and the same single-event load through an API with librdkafka's default linger.ms of 5 ms (what the API
// ran with before it set its own), to see what linger costs each request.
const int LibrdkafkaDefaultLingerMs = 5;
PhaseResult? defaultLingerSingles = null;
double defaultLingerProduceMs = double.NaN;
if (settings.LingerMs != LibrdkafkaDefaultLingerMs)
{
    await using var lingeringApi = new InProcessApi(broker.BootstrapServers, postgres.ConnectionString("pipelinedb"), settings.ProduceTimeout,
        settings: new Dictionary<string, string> { ["Kafka:Producer:linger.ms"] = LibrdkafkaDefaultLingerMs.ToString(CultureInfo.InvariantCulture) });
    using var lingeringHttp = lingeringApi.CreateClient(settings.Concurrency);
    await IngestPhases.SinglesAsync(lingeringHttp, events.Singles(1000), settings.Concurrency, TimeSpan.FromSeconds(30));
    using var times = new RequestTimes();
    Console.WriteLine($"Single events with linger.ms={LibrdkafkaDefaultLingerMs}:");
    defaultLingerSingles = await IngestPhases.SinglesAsync(lingeringHttp, events.Singles(settings.SingleEvents), settings.Concurrency, settings.MaxDuration);
    defaultLingerProduceMs = times.ProduceMs;
}

var clientMs = singles.Requests?.Mean ?? double.NaN;
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Where a single event's request time goes ({settings.Concurrency} clients, linger.ms={settings.LingerMs}, means):"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  client sees           {clientMs,7:0.00} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  HTTP                  {clientMs - serverMs,7:0.00} ms  (client, loopback, Kestrel, middleware: API key, rate limit; writing the 202)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  read, parse, checks   {serverMs - produceMs,7:0.00} ms  (read the body, parse and validate, rate and backlog checks)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  produce to report     {produceMs,7:0.00} ms  (enqueue, linger, broker round trip, delivery report)"));
if (defaultLingerSingles is not null)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  with linger.ms={LibrdkafkaDefaultLingerMs}: produce to report {defaultLingerProduceMs:0.00} ms, client sees {defaultLingerSingles.Requests?.Mean:0.00} ms, {defaultLingerSingles.EventsPerSecond:N0} events/s"));
}

// The backlog check's cost: the same batch load through an API with backpressure on (its default
// bound, which these sizes never reach, so nothing is refused) and one with it off, alternated five
// times so that a busy machine's noise falls on both; the best of each is compared.
await using var apiWithoutBackpressure = new InProcessApi(broker.BootstrapServers, postgres.ConnectionString("pipelinedb"), settings.ProduceTimeout, backpressure: false);
using var httpWithoutBackpressure = apiWithoutBackpressure.CreateClient(settings.Concurrency);
await IngestPhases.BatchesAsync(httpWithoutBackpressure, events.Batches(10), 2, TimeSpan.FromSeconds(30));
var checkRounds = new List<(PhaseResult On, PhaseResult Off)>();
for (var round = 0; round < 5; round++)
{
    Console.WriteLine($"Backpressure on/off, round {round + 1}:");
    var on = await IngestPhases.BatchesAsync(http, events.Batches(settings.Events / settings.BatchSize), settings.BatchConcurrency, settings.MaxDuration);
    var off = await IngestPhases.BatchesAsync(httpWithoutBackpressure, events.Batches(settings.Events / settings.BatchSize), settings.BatchConcurrency, settings.MaxDuration);
    checkRounds.Add((on, off));
}

var withCheck = checkRounds.Max(round => round.On.EventsPerSecond);
var withoutCheck = checkRounds.Max(round => round.Off.EventsPerSecond);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"  backpressure on: {withCheck:N0} events/s, off: {withoutCheck:N0} events/s (best of {checkRounds.Count} each) = {withCheck / withoutCheck:0.00}"));

// The query endpoints with 1k keys in the database, then with --query-keys.
var queries = new List<(string What, Latencies Small, Latencies Large)>();
if (settings.QueryKeys > 0)
{
    var database = postgres.ConnectionString("pipelinedb");
    DatabaseMigrations.Apply(database, NullLogger.Instance);
    const int SmallKeys = 1_000;
    var keyCount = SmallKeys;
    Func<Random, string> topKeys = _ => "/api/keys";
    Func<Random, string> windowsOfAKey = random => $"/api/aggregates/{QueryPhase.Key(random.Next(keyCount))}/windows?size=1m";
    await QueryPhase.FillAsync(database, 0, SmallKeys);
    await QueryPhase.MeasureAsync(http, topKeys, 200); // warm-up
    var smallTop = await QueryPhase.MeasureAsync(http, topKeys, settings.QueryRequests);
    var smallWindows = await QueryPhase.MeasureAsync(http, windowsOfAKey, settings.QueryRequests);
    var filling = Stopwatch.StartNew();
    await QueryPhase.FillAsync(database, SmallKeys, settings.QueryKeys);
    keyCount = settings.QueryKeys;
    Console.WriteLine($"Filled the database to {settings.QueryKeys:N0} keys ({2 * settings.QueryKeys:N0} windows) in {filling.Elapsed.TotalSeconds:0} s");
    await QueryPhase.MeasureAsync(http, topKeys, 200);
    var largeTop = await QueryPhase.MeasureAsync(http, topKeys, settings.QueryRequests);
    var largeWindows = await QueryPhase.MeasureAsync(http, windowsOfAKey, settings.QueryRequests);
    queries.Add(("GET /api/keys", smallTop, largeTop));
    queries.Add(("GET /api/aggregates/{key}/windows", smallWindows, largeWindows));
    foreach (var (what, small, large) in queries)
    {
        Console.WriteLine($"  {what}: {SmallKeys:N0} keys {small}; {settings.QueryKeys:N0} keys {large}");
    }
}

var raw = results[^1].EventsPerSecond;
Console.WriteLine();
Console.WriteLine("| path | events | seconds | events/s | vs raw producer | failed |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
foreach (var result in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {result.Name} | {result.Events:N0} | {result.Elapsed.TotalSeconds:0.00} | {result.EventsPerSecond:N0} | {result.EventsPerSecond / raw:0.00} | {result.Failed:N0} |"));
}

var figures = new BenchmarkResult("ingest");
figures.Describe("librdkafka", Library.VersionString);
foreach (var result in results[..^1])
{
    var best = result == results[0] ? " (best of 3, alternated with the raw producer)" : "";
    figures.Add($"ingest, {result.Name}{best}", result.EventsPerSecond, "events/s", $"raw Confluent.Kafka producer, same settings (linger.ms={settings.LingerMs}){(best.Length > 0 ? ", best of 3" : "")}", raw);
}

figures.Add("ingest, raw producer with JSON serialization per record (no trace header), best of 3 alternated", withSerializationOnly.EventsPerSecond, "events/s",
    "plain raw producer in the same rounds, best of 3", plainRaw.EventsPerSecond);
figures.Add("ingest, raw producer with the API's per-record work (JSON serialization, trace header), best of 3 alternated", withRecordWork.EventsPerSecond, "events/s",
    "the same without the trace header, best of 3", withSerializationOnly.EventsPerSecond);
figures.Add("ingest, raw producer with the API's per-record work (JSON serialization, trace header), best of 3 alternated", withRecordWork.EventsPerSecond, "events/s",
    "plain raw producer in the same rounds, best of 3", plainRaw.EventsPerSecond);
figures.Add("ingest, POST /api/events/batch (best of 3)", results[0].EventsPerSecond, "events/s",
    "raw producer with the API's per-record work, best of 3", withRecordWork.EventsPerSecond);
figures.Add("ingest, POST /api/events/batch with backpressure on", withCheck, "events/s", "the same with backpressure off", withoutCheck);
foreach (var (what, small, large) in queries)
{
    figures.Add($"query, {what} with {settings.QueryKeys:N0} keys in the database, p99 (4 in flight)", large.P99, "ms", "the same with 1,000 keys", small.P99);
}

if (singles.Requests is { } requests)
{
    figures.Add($"ingest, POST /api/events ({settings.Concurrency} clients), request p99", requests.P99, "ms");
    figures.Add($"ingest, POST /api/events ({settings.Concurrency} clients), mean time from produce to delivery report (linger.ms={settings.LingerMs})", produceMs, "ms");
    figures.Add($"ingest, POST /api/events ({settings.Concurrency} clients), mean time to read, parse and check", serverMs - produceMs, "ms");
}

if (defaultLingerSingles is not null)
{
    figures.Add($"ingest, POST /api/events ({settings.Concurrency} clients), linger.ms={settings.LingerMs}", singles.EventsPerSecond, "events/s",
        $"the same with linger.ms={LibrdkafkaDefaultLingerMs}", defaultLingerSingles.EventsPerSecond);
}

var completed = !results.Concat(recordWorkRounds.SelectMany(round => new[] { round.Plain, round.Serialized, round.WithHeader })).Concat(batchRounds.SelectMany(round => new[] { round.Batch, round.Raw })).Concat(defaultLingerSingles is null ? [] : [defaultLingerSingles]).Concat(checkRounds.SelectMany(round => new[] { round.On, round.Off })).Any(result => result.Failed > 0 || result.TimedOut);
figures.WriteIfRequested(args, completed);
return completed ? 0 : 1;
