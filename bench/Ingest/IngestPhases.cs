using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Pipeline.Contracts;

namespace Pipeline.Bench.Ingest;

/// <summary>Pre-serialized request bodies and records, so that the clock measures the API, not the client.</summary>
internal sealed class EventBodies(BenchSettings settings)
{
    private int _next;

    public IReadOnlyList<byte[]> Batches(int count) =>
        Enumerable.Range(0, count)
            .Select(_ => Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Range(0, settings.BatchSize).Select(_ => NextEvent())) + "]"))
            .ToList();

    public IReadOnlyList<byte[]> Singles(int count) =>
        Enumerable.Range(0, count).Select(_ => Encoding.UTF8.GetBytes(NextEvent())).ToList();

    /// <summary>What the API would write for the same events: key, JSON value, timestamp.</summary>
    public IReadOnlyList<Message<string, byte[]>> Records(int count) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            var n = Interlocked.Increment(ref _next);
            var pipelineEvent = new PipelineEvent($"bench-{n}", $"sensor-{n % 1000}", n * 0.5, DateTimeOffset.UtcNow);
            return new Message<string, byte[]>
            {
                Key = pipelineEvent.Key,
                Value = PipelineJson.Serialize(pipelineEvent),
                Timestamp = new Timestamp(pipelineEvent.Timestamp),
            };
        }).ToList();

    /// <summary>Events for a producer that does the API's per-record work inside its clock.</summary>
    public IReadOnlyList<PipelineEvent> Events(int count) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            var n = Interlocked.Increment(ref _next);
            return new PipelineEvent($"bench-{n}", $"sensor-{n % 1000}", n * 0.5, DateTimeOffset.UtcNow);
        }).ToList();

    private string NextEvent()
    {
        var n = Interlocked.Increment(ref _next);
        return JsonSerializer.Serialize(new { id = $"bench-{n}", key = $"sensor-{n % 1000}", value = n * 0.5 });
    }
}

/// <summary>The two HTTP phases: batches of events, and single events from many concurrent clients.</summary>
internal static class IngestPhases
{
    public static Task<PhaseResult> BatchesAsync(HttpClient http, IReadOnlyList<byte[]> batches, int concurrency, TimeSpan limit) =>
        RunAsync("POST /api/events/batch (1,000 per batch)", http, "/api/events/batch", batches,
            eventsPerBody: batches.Count == 0 ? 0 : CountEvents(batches[0]), concurrency, limit);

    public static Task<PhaseResult> SinglesAsync(HttpClient http, IReadOnlyList<byte[]> singles, int concurrency, TimeSpan limit) =>
        RunAsync($"POST /api/events ({concurrency} concurrent clients)", http, "/api/events", singles, eventsPerBody: 1, concurrency, limit);

    private static async Task<PhaseResult> RunAsync(
        string name, HttpClient http, string path, IReadOnlyList<byte[]> bodies, int eventsPerBody, int concurrency, TimeSpan limit)
    {
        using var deadline = new CancellationTokenSource(limit);
        var next = -1;
        long accepted = 0;
        long failed = 0;
        var latencies = new List<double>[concurrency];
        var watch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            int index;
            while (!deadline.IsCancellationRequested && (index = Interlocked.Increment(ref next)) < bodies.Count)
            {
                using var content = new ByteArrayContent(bodies[index]);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                try
                {
                    var sent = Stopwatch.GetTimestamp();
                    using var response = await http.PostAsync(path, content, deadline.Token);
                    mine.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                    Interlocked.Add(ref response.StatusCode == HttpStatusCode.Accepted ? ref accepted : ref failed, eventsPerBody);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested)
                {
                    return;
                }
            }
        });
        await Task.WhenAll(workers);
        watch.Stop();
        var requests = Latencies.Of(latencies.SelectMany(list => list ?? []).ToList());
        Report(name, accepted, failed, watch.Elapsed, deadline.IsCancellationRequested);
        Console.WriteLine($"    requests: {requests}");
        return new PhaseResult(name, accepted, failed, watch.Elapsed, deadline.IsCancellationRequested, requests);
    }

    private static int CountEvents(byte[] batch) => JsonDocument.Parse(batch).RootElement.GetArrayLength();

    public static void Report(string name, long events, long failed, TimeSpan elapsed, bool timedOut) =>
        Console.WriteLine($"  {name}: {events:N0} events in {elapsed.TotalSeconds:0.00} s = {events / elapsed.TotalSeconds:N0}/s" +
            (failed > 0 ? $", {failed:N0} failed" : "") + (timedOut ? " (stopped at the time bound)" : ""));
}

/// <summary>The ceiling: a Confluent.Kafka producer with the API's settings, fed as fast as it takes records.</summary>
internal static class RawProducer
{
    public static PhaseResult Run(string bootstrapServers, IReadOnlyList<Message<string, byte[]>> records, TimeSpan produceTimeout, TimeSpan limit, int lingerMs) =>
        Run("raw Confluent.Kafka producer (same settings)", bootstrapServers, records.Count, i => records[i], produceTimeout, limit, lingerMs);

    /// <summary>
    /// A diagnosis, not a baseline: the raw producer doing the API's per-record work inside its
    /// clock, a JSON serialization and the trace header on every record (one shared header set, as
    /// the API does).
    /// </summary>
    public static PhaseResult RunWithApiRecordWork(string bootstrapServers, IReadOnlyList<PipelineEvent> events, TimeSpan produceTimeout, TimeSpan limit, int lingerMs,
        bool traceHeader = true)
    {
        var headers = traceHeader
            ? new Headers { { "traceparent", System.Text.Encoding.ASCII.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") } }
            : null;
        return Run(traceHeader ? "raw producer + JSON serialization + trace header per record" : "raw producer + JSON serialization per record",
            bootstrapServers, events.Count, i => new Message<string, byte[]>
        {
            Key = events[i].Key,
            Value = PipelineJson.Serialize(events[i]),
            Timestamp = new Timestamp(events[i].Timestamp),
            Headers = headers,
        }, produceTimeout, limit, lingerMs);
    }

    private static PhaseResult Run(string name, string bootstrapServers, int count, Func<int, Message<string, byte[]>> record, TimeSpan produceTimeout, TimeSpan limit, int lingerMs)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = "bench-raw-producer",
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = (int)produceTimeout.TotalMilliseconds,
            ReconnectBackoffMaxMs = 2000,
            DeliveryReportFields = "status",
            LingerMs = lingerMs,
        }).Build();
        producer.ProduceAsync(Topics.Events, record(0)).GetAwaiter().GetResult(); // connect and learn the partitions

        long acknowledged = 0;
        long failed = 0;
        var done = new CountdownEvent(count - 1);
        var watch = Stopwatch.StartNew();
        var deadline = watch.Elapsed + limit;
        var sent = 0;
        for (var i = 1; i < count && watch.Elapsed < deadline; i++)
        {
            var message = record(i);
            while (true)
            {
                try
                {
                    producer.Produce(Topics.Events, message, report =>
                    {
                        Interlocked.Increment(ref report.Error.IsError ? ref failed : ref acknowledged);
                        done.Signal();
                    });
                    sent++;
                    break;
                }
                catch (ProduceException<string, byte[]> exception) when (exception.Error.Code == ErrorCode.Local_QueueFull)
                {
                    Thread.Sleep(1); // the background poll thread drains delivery reports
                }
            }
        }

        if (count - 1 - sent > 0)
        {
            done.Signal(count - 1 - sent); // never sent: nothing to wait for
        }

        var settled = done.Wait(deadline - watch.Elapsed > TimeSpan.Zero ? deadline - watch.Elapsed : TimeSpan.Zero);
        watch.Stop();
        var timedOut = !settled || sent < count - 1;
        IngestPhases.Report(name, Interlocked.Read(ref acknowledged), Interlocked.Read(ref failed), watch.Elapsed, timedOut);
        return new PhaseResult(name, Interlocked.Read(ref acknowledged), Interlocked.Read(ref failed), watch.Elapsed, timedOut);
    }
}
