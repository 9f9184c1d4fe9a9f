using Pipeline.LoadGenerator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The whole pipeline in local mode pushed past what its broker keeps (the newest 5 MiB of each
/// partition): a burst several times that size, sent as fast as the API takes it by clients that
/// honour 503 and 429, then kill -9 of the stream processor, then the keys that went idle before
/// the burst. Nothing accepted is lost or counted twice, and no idle key is forgotten.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class BurstPastRetentionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int IdleKeys = 8;
    private const int BurstKeys = 1_000;
    private const int BurstEvents = 200_000;
    private const int MaxRounds = 4;

    [Fact]
    public async Task ABurstPastTheBrokersRetentionThenAKilledProcessorLoseNothingAndForgetNoIdleKey()
    {
        await using var app = await PipelineAppFixture.StartAsync();
        await using var logs = await ResourceLogTail.StartAsync(app, ["api", "stream-processor", "sink"]);
        using var api = app.CreateHttpClient("api");
        api.DefaultRequestHeaders.Add("X-Api-Key", PipelineAppFixture.ApiKey);
        var prefix = "idle-" + Guid.NewGuid().ToString("N")[..8];

        // Keys that get a few events first and then nothing while the burst goes by.
        var before = DateTimeOffset.UtcNow;
        var idle = Enumerable.Range(0, IdleKeys * 5)
            .Select(i => new SentEvent($"{prefix}-e{i}", $"{prefix}-{i % IdleKeys}", i % 5 + 0.25, before)).ToList();
        await PostAsync(api, idle);
        await WaitForTotalsAsync(api, idle, logs);

        // The burst, as fast as the API takes it, in rounds until the broker has dropped the head of
        // the events topic and of both changelogs: far more than it keeps of any partition.
        var bootstrapServers = await app.GetConnectionStringAsync("kafka");
        string[] overflowing = [Topics.Events, .. StreamProcessorTopology.InternalTopics(StreamProcessorTopology.DefaultApplicationId)];
        for (var round = 1; ; round++)
        {
            await using var load = VerifiedLoad.Start(new LoadOptions
            {
                Api = new Uri(app.GetEndpoint("api", "http"), "/"),
                ApiKey = PipelineAppFixture.ApiKey,
                Rate = 0,
                Count = BurstEvents,
                Keys = BurstKeys,
                BatchSize = 1_000,
                Concurrency = 8,
                DuplicateRatio = 0.01,
                Verify = true,
                SettleTimeout = TimeSpan.FromMinutes(3),
                KeyPrefix = $"burst{round}-" + Guid.NewGuid().ToString("N")[..8],
                Seed = 20 + round,
            });
            var outcome = await load.Outcome;
            output.WriteLine($"Round {round}:\n{load.Output}");

            Assert.True(outcome.ExitCode == LoadCommand.Success, load.FailureReport(logs));
            Assert.Equal(BurstKeys, outcome.Verification!.KeysChecked);
            Assert.Contains("503: ", load.Output); // the API held the burst back (backlog-full)
            var kept = overflowing.Where(topic => !LogStarts(bootstrapServers!, topic).Any(start => start > 0)).ToList();
            if (kept.Count == 0)
            {
                break;
            }

            Assert.True(round < MaxRounds, $"after {round} rounds {string.Join(", ", kept)} still kept everything: the burst was too small to test anything");
        }

        await ServiceProcess.KillNineAsync(app, "stream-processor", "Pipeline.Stream");
        await ServiceProcess.RestartAsync(app, "stream-processor");

        // The idle keys again: new events, and every earlier one sent again with its id (counted once).
        var after = DateTimeOffset.UtcNow;
        var later = Enumerable.Range(0, IdleKeys * 2)
            .Select(i => new SentEvent($"{prefix}-l{i}", $"{prefix}-{i % IdleKeys}", 10 + i, after)).ToList();
        await PostAsync(api, [.. later, .. idle]);
        await WaitForTotalsAsync(api, [.. idle, .. later], logs);
        await AssertWindowsAsync(api, [.. idle, .. later]);

        foreach (var service in new[] { "stream-processor", "sink" })
        {
            using var health = app.CreateHttpClient(service);
            using var answer = await health.GetAsync("/health");
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{service}: {await answer.Content.ReadAsStringAsync()}\n{logs}");
        }
    }

    private sealed record SentEvent(string Id, string Key, double Value, DateTimeOffset Timestamp);

    private static async Task PostAsync(HttpClient api, IReadOnlyList<SentEvent> events)
    {
        var body = events.Select(e => new { id = e.Id, key = e.Key, value = e.Value, timestamp = e.Timestamp });
        for (var attempt = 0; ; attempt++)
        {
            using var response = await api.PostAsJsonAsync("/api/events/batch", body);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return;
            }

            Assert.True(attempt < 30 && response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests,
                $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Waits until every key's all-time totals count each distinct id once.</summary>
    private static async Task WaitForTotalsAsync(HttpClient api, IReadOnlyList<SentEvent> sent, ResourceLogTail logs)
    {
        var expected = sent.DistinctBy(e => e.Id).GroupBy(e => e.Key)
            .ToDictionary(group => group.Key, group => (Count: (long)group.Count(), Sum: group.Sum(e => e.Value)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var differences = new List<string>();
        while (DateTime.UtcNow < deadline)
        {
            differences.Clear();
            foreach (var (key, (count, sum)) in expected)
            {
                using var response = await api.GetAsync($"/api/aggregates/{key}");
                var totals = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
                var (actualCount, actualSum) = response.IsSuccessStatusCode ? (totals.GetProperty("count").GetInt64(), totals.GetProperty("sum").GetDouble()) : (0L, 0d);
                if (actualCount != count || actualSum != sum)
                {
                    differences.Add($"{key}: count {actualCount} sum {actualSum}, expected count {count} sum {sum}");
                }
            }

            if (differences.Count == 0)
            {
                return;
            }

            await Task.Delay(500);
        }

        Assert.Fail(string.Join("\n", differences) + "\n" + logs);
    }

    /// <summary>Every 1m and 1h window of the idle keys holds exactly the events stamped in it.</summary>
    private static async Task AssertWindowsAsync(HttpClient api, IReadOnlyList<SentEvent> sent)
    {
        foreach (var (size, length) in new[] { ("1m", TimeSpan.FromMinutes(1)), ("1h", TimeSpan.FromHours(1)) })
        {
            foreach (var key in sent.Select(e => e.Key).Distinct())
            {
                var expected = sent.Where(e => e.Key == key).DistinctBy(e => e.Id)
                    .GroupBy(e => e.Timestamp.ToUnixTimeMilliseconds() / (long)length.TotalMilliseconds)
                    .ToDictionary(group => group.Key * (long)length.TotalMilliseconds, group => (Count: (long)group.Count(), Sum: group.Sum(e => e.Value)));
                var windows = await api.GetFromJsonAsync<JsonElement>($"/api/aggregates/{key}/windows?size={size}&limit=100");
                var actual = windows.GetProperty("items").EnumerateArray().ToDictionary(
                    window => window.GetProperty("windowStart").GetDateTimeOffset().ToUnixTimeMilliseconds(),
                    window => (Count: window.GetProperty("count").GetInt64(), Sum: window.GetProperty("sum").GetDouble()));
                Assert.Equal(expected.OrderBy(pair => pair.Key), actual.OrderBy(pair => pair.Key));
            }
        }
    }

    private static List<long> LogStarts(string bootstrapServers, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "log-starts" }).Build();
        return Enumerable.Range(0, 4)
            .Select(partition => consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).Low.Value)
            .ToList();
    }
}
