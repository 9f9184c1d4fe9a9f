using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Bench;

// End-to-end freshness: the whole pipeline started through the AppHost in local mode, a
// steady load of single events, each on a key of its own, and for each the time from its
// 202 to the moment its all-time row is committed in PostgreSQL and readable by GET
// (the API's change stream pushes it on that commit). Not a test: it prints figures.
// The first --warmup seconds of the load (JIT, first connections, first batches) are reported
// apart: the figures are the steady state that follows.
// Usage: dotnet run -c Release --project bench/Freshness [-- --rate 200 --seconds 30 --warmup 5 --json figures.json]
var rate = Argument("--rate", 200);
var seconds = Argument("--seconds", 30);
var warmupSeconds = Argument("--warmup", 5);
const string ApiKey = "freshness-bench-key";

Console.Error.WriteLine($"Starting the AppHost in local mode (rate {rate}/s for {warmupSeconds} s of warm-up, then {seconds} s)...");
var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
    ["--Pipeline:Infrastructure=local", $"--Parameters:api-key={ApiKey}"], (options, _) => options.DisableDashboard = true);
appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Critical)); // the services' logs would drown the figures
await using var app = await appHost.BuildAsync();
await app.StartAsync();
foreach (var service in new[] { "api", "stream-processor", "sink" })
{
    await app.ResourceNotifications.WaitForResourceHealthyAsync(service);
}

using var api = app.CreateHttpClient("api");
api.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
var prefix = $"fresh-{Guid.NewGuid():N}"[..14];
var accepted = new ConcurrentDictionary<string, (long At, bool Warmup)>();
var latency = new LongConcurrentHistogram(1, TimeStamp.Minutes(5), 3);
var warmupLatency = new LongConcurrentHistogram(1, TimeStamp.Minutes(5), 3);
using var stop = new CancellationTokenSource();

// Listen before sending, so that no commit is missed.
using var streamResponse = await api.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/aggregates/stream"), HttpCompletionOption.ResponseHeadersRead);
var stream = await streamResponse.Content.ReadAsStreamAsync();
var visible = 0;
var droppedChanges = 0;
var listener = Task.Run(async () =>
{
    try
    {
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(stop.Token))
        {
            if (item.EventType == "dropped")
            {
                // The stream fell behind and lost changes; their events are never seen here.
                Interlocked.Add(ref droppedChanges, JsonDocument.Parse(item.Data).RootElement.GetProperty("dropped").GetInt32());
                continue;
            }

            if (item.EventType != "aggregate")
            {
                continue;
            }

            var change = JsonDocument.Parse(item.Data).RootElement;
            if (change.GetProperty("window").GetString() == "all"
                && accepted.TryRemove(change.GetProperty("key").GetString()!, out var acceptance))
            {
                var histogram = acceptance.Warmup ? warmupLatency : latency;
                histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(acceptance.At).TotalMicroseconds));
                Interlocked.Increment(ref visible);
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
});

Console.Error.WriteLine("Sending...");
var sent = 0;
var clock = Stopwatch.StartNew();
var inFlight = new List<Task>();
var warmupEvents = rate * warmupSeconds;
for (var i = 0; i < rate * (warmupSeconds + seconds); i++)
{
    var due = TimeSpan.FromSeconds(i / (double)rate) - clock.Elapsed;
    if (due > TimeSpan.Zero)
    {
        await Task.Delay(due);
    }

    var key = $"{prefix}-{i:D6}";
    var warmup = i < warmupEvents;
    inFlight.Add(Task.Run(async () =>
    {
        using var response = await api.PostAsJsonAsync("/api/events", new { key, value = 1 });
        if ((int)response.StatusCode == 202)
        {
            accepted[key] = (Stopwatch.GetTimestamp(), warmup);
            Interlocked.Increment(ref sent);
        }
    }));
}

await Task.WhenAll(inFlight);
var deadline = Stopwatch.StartNew();
while (!accepted.IsEmpty && deadline.Elapsed < TimeSpan.FromSeconds(30))
{
    await Task.Delay(100);
}

await stop.CancelAsync();
await listener;

double Ms(double percentile) => latency.TotalCount > 0 ? latency.GetValueAtPercentile(percentile) / 1000.0 : double.NaN;
double WarmupMs(double percentile) => warmupLatency.TotalCount > 0 ? warmupLatency.GetValueAtPercentile(percentile) / 1000.0 : double.NaN;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"end-to-end freshness (202 -> row committed and readable), {rate}/s for {seconds} s after {warmupSeconds} s of warm-up, local mode: " +
    $"{visible} of {sent} accepted events seen; steady state p50 {Ms(50):F0} ms, p99 {Ms(99):F0} ms, max {Ms(100):F0} ms; " +
    $"warm-up p50 {WarmupMs(50):F0} ms, p99 {WarmupMs(99):F0} ms, max {WarmupMs(100):F0} ms; never seen: {accepted.Count}; " +
    $"changes the stream dropped for falling behind: {droppedChanges}"));
var figures = new BenchmarkResult("freshness");
if (visible > 0)
{
    figures.Add($"end-to-end freshness, 202 to visible, p50 ({rate}/s, local mode)", Ms(50), "ms");
    figures.Add($"end-to-end freshness, 202 to visible, p99 ({rate}/s, local mode)", Ms(99), "ms");
    figures.Add($"end-to-end freshness, 202 to visible, max ({rate}/s, local mode)", Ms(100), "ms");
}

if (warmupLatency.TotalCount > 0)
{
    figures.Add($"end-to-end freshness during the first {warmupSeconds} s (warm-up), p99", WarmupMs(99), "ms");
}

figures.WriteIfRequested(args, accepted.IsEmpty && visible > 0);
return accepted.IsEmpty ? 0 : 1;

int Argument(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], out var value) ? value : fallback;
}
