// Ingest benchmark: events/s through POST /api/events/batch, through single POST /api/events with
// many concurrent clients, and through a raw Confluent.Kafka producer with the API's settings, all
// against one local broker, in one run. Bounded in count and time; loopback only.
//
//   dotnet run -c Release --project bench/Ingest [-- --events 200000 --single-events 20000 --concurrency 32 --max-seconds 60 --json figures.json]

using System.Globalization;
using Confluent.Kafka;
using Pipeline.AppHost.Kafka;
using Pipeline.AppHost.Postgres;
using Pipeline.Bench;
using Pipeline.Bench.Ingest;
using Pipeline.ServiceDefaults.Contracts;

var settings = BenchSettings.Parse(args);
Console.WriteLine($"Ingest benchmark: {Environment.ProcessorCount} cores, .NET {Environment.Version}, librdkafka {Library.VersionString}");
Console.WriteLine($"  batch phase {settings.Events:N0} events in batches of {settings.BatchSize:N0} ({settings.BatchConcurrency} concurrent requests); " +
    $"single phase {settings.SingleEvents:N0} events ({settings.Concurrency} concurrent clients); raw phase {settings.Events:N0} events; each phase at most {settings.MaxSeconds} s");

using var broker = LocalKafkaBroker.Start();
broker.CreateTopic(Topics.Events, settings.Partitions);

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

var completed = !results.Any(result => result.Failed > 0 || result.TimedOut);
figures.WriteIfRequested(args, completed);
return completed ? 0 : 1;
