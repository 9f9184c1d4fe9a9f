namespace Pipeline.Tests.Api.Events;

public sealed class EventIngestTests(PartitionedEventsTopic topic) : IClassFixture<PartitionedEventsTopic>
{
    [Fact]
    public async Task AcceptedEventIsReadBackFromTheTopicWithItsKeyTimestampAndTraceHeaders()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var traceId = ActivityTraceId.CreateRandom();
        var timestamp = DateTimeOffset.UtcNow.AddMinutes(-3).AddTicks(1234567);
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiRequests.Events)
        {
            Content = new StringContent(
                $$"""{"id":"read-back-1","key":"sensor-7","value":21.5,"timestamp":"{{timestamp:O}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        Assert.Equal("read-back-1", accepted.GetProperty("id").GetString());
        var record = topic.ReadAt(accepted.GetProperty("partition").GetInt32(), accepted.GetProperty("offset").GetInt64());
        Assert.Equal("sensor-7", record.Message.Key);
        Assert.Equal(timestamp.ToUnixTimeMilliseconds(), record.Message.Timestamp.UnixTimestampMs);
        var written = PipelineJson.Deserialize<PipelineEvent>(record.Message.Value);
        Assert.Equal(new PipelineEvent("read-back-1", "sensor-7", 21.5, timestamp), written);
        Assert.True(record.Message.Headers.TryGetLastBytes("traceparent", out var traceparent));
        Assert.Equal(traceId.ToString(), Encoding.UTF8.GetString(traceparent).Split('-')[1]);
    }

    [Fact]
    public async Task TheClientsBaggageIsNotCopiedIntoTheRecordsButItsTraceContextIs()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var traceId = ActivityTraceId.CreateRandom();
        var events = Enumerable.Range(0, 3).Select(i => $$"""{"id":"baggage-{{i}}-{{traceId}}","key":"sensor-7","value":1}""");
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiRequests.Batch)
        {
            Content = new StringContent("[" + string.Join(",", events) + "]", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        request.Headers.Add("baggage", "padding=" + new string('x', 8000) + ",tenant=someone-else");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var records = topic.ReadAll().Where(record => PipelineJson.Deserialize<PipelineEvent>(record.Message.Value).Id.EndsWith(traceId.ToString(), StringComparison.Ordinal)).ToList();
        Assert.Equal(3, records.Count);
        Assert.All(records, record =>
        {
            Assert.True(record.Message.Headers.TryGetLastBytes("traceparent", out var traceparent));
            Assert.Equal(traceId.ToString(), Encoding.UTF8.GetString(traceparent).Split('-')[1]);
            Assert.DoesNotContain(record.Message.Headers, header => header.Key == "baggage");
            Assert.True(record.Message.Headers.Sum(header => header.GetValueBytes().Length) < 1024, "The record's headers are larger than a trace context.");
        });
    }

    [Fact]
    public async Task EventWithoutIdOrTimestampGetsAUuidAndTheTimeOfReceipt()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var before = DateTimeOffset.UtcNow;

        var response = await client.PostAsync(ApiRequests.Events, """{"key":"no-id","value":-3,"id":null,"timestamp":null}""");

        var after = DateTimeOffset.UtcNow;
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        var id = accepted.GetProperty("id").GetString();
        Assert.True(Guid.TryParse(id, out _), $"'{id}' is not a UUID");
        var record = topic.ReadAt(accepted.GetProperty("partition").GetInt32(), accepted.GetProperty("offset").GetInt64());
        var written = PipelineJson.Deserialize<PipelineEvent>(record.Message.Value);
        Assert.Equal(id, written.Id);
        Assert.Equal(-3, written.Value);
        Assert.InRange(written.Timestamp, before, after);
        Assert.Equal(written.Timestamp.ToUnixTimeMilliseconds(), record.Message.Timestamp.UnixTimestampMs);
    }

    [Fact]
    public async Task TheSameIdSentTwiceIsAcceptedBothTimes()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var body = ApiRequests.NewEvent(out var id);

        var first = await client.PostAsync(ApiRequests.Events, body);
        var second = await client.PostAsync(ApiRequests.Events, body);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(2, topic.ReadAllIds().Count(written => written == id));
    }

    [Fact]
    public async Task JsonArrayBatchIsAcceptedAndEveryEventIsInTheTopic()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var events = Enumerable.Range(0, 20).Select(i => ApiRequests.NewEvent(out _, key: "batch-key-" + (i % 3))).ToList();
        events.Add("""{"key":"batch-no-id","value":0.25}""");

        var response = await client.PostAsync(ApiRequests.Batch, "[" + string.Join(",\n", events) + "]");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        Assert.Equal(21, accepted.GetProperty("accepted").GetInt32());
        var ids = accepted.GetProperty("ids").EnumerateArray().Select(id => id.GetString()!).ToList();
        Assert.Equal(events.Take(20).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("id").GetString()), ids.Take(20));
        Assert.True(Guid.TryParse(ids[20], out _));
        var inTopic = topic.ReadAllIds();
        Assert.All(ids, id => Assert.Contains(id, inTopic));
    }

    [Fact]
    public async Task NdjsonBatchIsAcceptedWithBlankLinesSkipped()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var body = ApiRequests.NewEvent(out var first) + "\r\n\r\n" + ApiRequests.NewEvent(out var second) + "\n   \n" + ApiRequests.NewEvent(out var third);

        var response = await client.PostAsync(ApiRequests.Batch, body, "application/x-ndjson");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        Assert.Equal([first, second, third], accepted.GetProperty("ids").EnumerateArray().Select(id => id.GetString()));
        var inTopic = topic.ReadAllIds();
        Assert.All([first, second, third], id => Assert.Contains(id, inTopic));
    }

    [Fact]
    public async Task OneKeysEventsLandOnOnePartitionInRequestOrder()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();
        var key = "ordered-" + Guid.NewGuid().ToString("N");
        var bodies = Enumerable.Range(0, 50).Select(i => JsonSerializer.Serialize(new { id = $"{key}-{i:D3}", key, value = i })).ToList();

        var response = await client.PostAsync(ApiRequests.Batch, "[" + string.Join(",", bodies) + "]");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var records = topic.ReadAll().Where(record => record.Message.Key == key).ToList();
        Assert.Single(records.Select(record => record.Partition.Value).Distinct());
        var values = records.OrderBy(record => record.Offset.Value)
            .Select(record => PipelineJson.Deserialize<PipelineEvent>(record.Message.Value).Value);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (double)i), values);
    }

    public static TheoryData<string> ValidEventsAtTheLimits()
    {
        var now = DateTimeOffset.UtcNow;
        return new TheoryData<string>
        {
            JsonSerializer.Serialize(new { id = new string('i', 128), key = string.Concat(Enumerable.Repeat("\U0001F600", 256)), value = 1 }),
            JsonSerializer.Serialize(new { key = "k", value = 1, timestamp = now.AddDays(-6).ToString("O") }),
            JsonSerializer.Serialize(new { key = "k", value = 1, timestamp = now.AddMinutes(4).ToString("O") }),
            $$"""{"key":"k","value":-1.5e-7,"timestamp":"{{now.ToOffset(TimeSpan.FromHours(5.5)):yyyy-MM-dd'T'HH:mm:ss.fffffff}}99+05:30"}""",
            $$"""{"key":"k","value":1E+3,"timestamp":"{{now.AddHours(-1):yyyy-MM-dd't'HH:mm:ss}}z"}""",
            """{"key":"ünïcödé key with spaces","value":1e300}""",
            "\uFEFF{\"key\":\"bom\",\"value\":0}",
        };
    }

    [Theory]
    [MemberData(nameof(ValidEventsAtTheLimits))]
    public async Task EventAtTheLimitsOfEachRuleIsAccepted(string body)
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var client = api.CreateApiClient();

        var response = await client.PostAsync(ApiRequests.Events, body);

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
    }
}
