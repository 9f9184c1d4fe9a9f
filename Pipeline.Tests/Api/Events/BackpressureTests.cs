namespace Pipeline.Tests.Api.Events;

/// <summary>
/// Backpressure at the door: the API refuses new events whole (503 backlog-full, Retry-After,
/// nothing produced) while more records wait on a partition than Ingest:Backlog allows, for the
/// stream processor on the events topic or for the sink on the aggregates topic, and takes them
/// again once those catch up.
/// </summary>
public sealed class BackpressureTests : IDisposable
{
    private const int Partitions = 2;
    private const int Limit = 100;

    private readonly LocalKafkaBroker _broker = LocalKafkaBroker.Start();

    public BackpressureTests()
    {
        _broker.CreateTopic(Topics.Events, Partitions);
        _broker.CreateTopic(Topics.Aggregates, Partitions);
    }

    [Fact]
    public async Task EventsWaitingForTheProcessorPastTheLimitAreRefusedWholeUntilItCatchesUp()
    {
        await using var api = Api(Limit);
        using var client = api.CreateApiClient();
        await WaitUntilMeasuredAsync(api);

        // Nothing has been read yet (the processor has committed nothing): all of it waits.
        var accepted = 0;
        HttpResponseMessage refused;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var response = await client.PostAsync(ApiRequests.Batch, Batch(50));
            if (response.StatusCode != HttpStatusCode.Accepted || DateTime.UtcNow > deadline)
            {
                refused = response;
                break;
            }

            accepted += 50;
            response.Dispose();
        }

        using (refused)
        {
            var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "backlog-full");
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            Assert.Contains($"{Topics.Events}[", problem.GetProperty("detail").GetString());
            Assert.Contains(ConsumerGroups.StreamProcessor, problem.GetProperty("detail").GetString());
        }

        Assert.InRange(accepted, Limit, 8 * Limit); // held back near the limit, not far past it
        Assert.Equal(accepted, EndOffsets(Topics.Events).Sum()); // the refused batch produced nothing

        CommitAsGroup(ConsumerGroups.StreamProcessor, Topics.Events, EndOffsets(Topics.Events));

        var taken = await PostUntilAcceptedAsync(client, TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Accepted, taken);
    }

    [Fact]
    public async Task UpdatesWaitingForTheSinkPastTheLimitHoldEventsBackToo()
    {
        await using var api = Api(Limit);
        using var client = api.CreateApiClient();
        await WaitUntilMeasuredAsync(api);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _broker.BootstrapServers }).Build())
        {
            for (var i = 0; i < Limit + 10; i++)
            {
                producer.Produce(new TopicPartition(Topics.Aggregates, 1), new Message<byte[], byte[]> { Key = [1], Value = [2] });
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var problem = await WaitForProblemAsync(client, TimeSpan.FromSeconds(10));

        Assert.Contains($"{Topics.Aggregates}[1]", problem);
        Assert.Contains(ConsumerGroups.Sink, problem);
    }

    [Fact]
    public async Task ALimitOfZeroSwitchesBackpressureOff()
    {
        await using var api = Api(limit: 0);
        using var client = api.CreateApiClient();

        for (var i = 0; i < 3; i++)
        {
            using var response = await client.PostAsync(ApiRequests.Batch, Batch(2 * Limit));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            await Task.Delay(200);
        }

        Assert.Equal(6 * Limit, EndOffsets(Topics.Events).Sum());
    }

    public void Dispose() => _broker.Dispose();

    private IngestApiFactory Api(int limit) => new(_broker.BootstrapServers, new Dictionary<string, string?>
    {
        ["Ingest:Backlog:MaxRecordsPerPartition"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Ingest:Backlog:RefreshInterval"] = "00:00:00.050",
    });

    // Until its first measurement the API holds nothing back (figures it does not have are not
    // trusted); a test that floods it from its first request waits for that measurement.
    private static async Task WaitUntilMeasuredAsync(IngestApiFactory api)
    {
        var monitor = api.Services.GetRequiredService<Pipeline.Api.Events.BacklogMonitor>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!monitor.HasMeasured)
        {
            Assert.True(DateTime.UtcNow < deadline, "The API did not measure the backlog within 20 s.");
            await Task.Delay(20);
        }
    }

    private static string Batch(int count) =>
        "[" + string.Join(",", Enumerable.Range(0, count).Select(i => ApiRequests.NewEvent(out _, key: $"bp-{i % 16}"))) + "]";

    private static async Task<HttpStatusCode> PostUntilAcceptedAsync(HttpClient client, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            using var response = await client.PostAsync(ApiRequests.Batch, Batch(1));
            if (response.StatusCode == HttpStatusCode.Accepted || DateTime.UtcNow > deadline)
            {
                return response.StatusCode;
            }

            await Task.Delay(50);
        }
    }

    private static async Task<string> WaitForProblemAsync(HttpClient client, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            using var response = await client.PostAsync(ApiRequests.Batch, Batch(1));
            if (response.StatusCode != HttpStatusCode.Accepted || DateTime.UtcNow > deadline)
            {
                return (await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "backlog-full")).GetProperty("detail").GetString()!;
            }

            await Task.Delay(50);
        }
    }

    private List<long> EndOffsets(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = "end-offsets" }).Build();
        return Enumerable.Range(0, Partitions)
            .Select(partition => consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).High.Value)
            .ToList();
    }

    /// <summary>Commits offsets as a member of <paramref name="group"/> would (the broker takes commits from members only).</summary>
    private void CommitAsGroup(string group, string topic, List<long> offsets)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = _broker.BootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
            SessionTimeoutMs = 6000,
        }).Build();
        consumer.Subscribe(topic);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (consumer.Assignment.Count < Partitions && DateTime.UtcNow < deadline)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(100));
        }

        consumer.Commit(offsets.Select((offset, partition) => new TopicPartitionOffset(topic, partition, offset)));
        consumer.Close();
    }
}
