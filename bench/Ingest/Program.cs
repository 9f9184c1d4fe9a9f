// Ingest benchmark: events/s through POST /api/events/batch, through single POST /api/events with
// many concurrent clients, and through a raw Confluent.Kafka producer with the API's settings, all
// against one local broker, in one run; and the batch path with the backlog check (backpressure)
// on and off side by side. Bounded in count and time; loopback only.
//
//   dotnet run -c Release --project bench/Ingest [-- --events 200000 --single-events 20000 --concurrency 32 --max-seconds 60 --json figures.json]

using System.Globalization;
using Confluent.Kafka;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Bench;
using Pipeline.Bench.Ingest;
using Pipeline.Contracts;

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
await using var api = new InProcessApi(broker.BootstrapServers, postgres.ConnectionString("pipelinedb"), settings.ProduceTimeout);
using var http = api.CreateClient(settings.Concurrency);
var events = new EventBodies(settings);

Console.WriteLine("Warming up...");
await IngestPhases.BatchesAsync(http, events.Batches(10), 2, TimeSpan.FromSeconds(30));
await IngestPhases.SinglesAsync(http, events.Singles(1000), settings.Concurrency, TimeSpan.FromSeconds(30));

var results = new List<PhaseResult>
{
    await IngestPhases.BatchesAsync(http, events.Batches(settings.Events / settings.BatchSize), settings.BatchConcurrency, settings.MaxDuration),
    await IngestPhases.SinglesAsync(http, events.Singles(settings.SingleEvents), settings.Concurrency, settings.MaxDuration),
    RawProducer.Run(broker.BootstrapServers, events.Records(settings.Events), settings.ProduceTimeout, settings.MaxDuration),
};

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
    figures.Add($"ingest, {result.Name}", result.EventsPerSecond, "events/s", "raw Confluent.Kafka producer, same settings", raw);
}

figures.Add("ingest, POST /api/events/batch with backpressure on", withCheck, "events/s", "the same with backpressure off", withoutCheck);

var completed = !results.Concat(checkRounds.SelectMany(round => new[] { round.On, round.Off })).Any(result => result.Failed > 0 || result.TimedOut);
figures.WriteIfRequested(args, completed);
return completed ? 0 : 1;
