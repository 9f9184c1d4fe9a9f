using Avro.Generic;
using Confluent.Kafka.SyncOverAsync;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Pipeline.Api.Aggregates;
using Pipeline.Tests.Hosting.Local;
using Pipeline.Tests.ServiceDefaults.Records;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The pipeline on Avro (the AppHost's default record format), seen from outside: a plain
/// Confluent consumer with the Avro deserializer and the registry's URL reads what the query API
/// serves; a compatible new event schema flows beside the old one; an incompatible one is refused;
/// records that are not valid for their schema are dead-lettered and the pipeline carries on.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class AvroThroughThePipelineTests(PipelineAppFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task APlainAvroConsumerOfAggregatesReadsExactlyWhatTheQueryApiServes()
    {
        using var api = fixture.CreateApiClient();
        var key = $"avro-outside-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        var values = new[] { 12.5, -3.25, 40, 0.125, 7 };
        using (var posted = await api.PostAsJsonAsync("/api/events/batch",
            values.Select((value, i) => new { id = $"{key}-{i}", key, value, timestamp = now.AddMilliseconds(-i) })))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var totals = await WaitForCountAsync(api, key, values.Length);
        var windows = (await api.GetFromJsonAsync<WindowPage>($"/api/windows?key={Uri.EscapeDataString(key)}&size=1m"))!;
        Assert.Equal(values.Length, windows.Items.Sum(w => w.Count));

        // From outside: bootstrap servers, the registry's URL, Confluent's Avro deserializer. No pipeline code.
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = await fixture.App.GetConnectionStringAsync(ConnectionNames.SchemaRegistry) });
        using var consumer = new ConsumerBuilder<GenericRecord, GenericRecord>(new ConsumerConfig
            {
                BootstrapServers = await fixture.App.GetConnectionStringAsync(ConnectionNames.Kafka),
                GroupId = $"outside-{Guid.NewGuid():N}",
                AutoOffsetReset = AutoOffsetReset.Earliest,
                EnableAutoCommit = false,
            })
            .SetKeyDeserializer(new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync())
            .SetValueDeserializer(new AvroDeserializer<GenericRecord>(registry).AsSyncOverAsync())
            .Build();
        consumer.Subscribe(Topics.Aggregates);

        // The latest version of each of the key's aggregates, until the all-time one is the API's.
        var latest = new Dictionary<(string Window, DateTime Start), GenericRecord>();
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline && !Matches(latest, totals, windows))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result is null || (string)result.Message.Value["key"] != key)
            {
                continue;
            }

            var value = result.Message.Value;
            Assert.Equal(((string)value["key"], (string)value["window"], value["windowStart"]),
                ((string)result.Message.Key["key"], (string)result.Message.Key["window"], result.Message.Key["windowStart"]));
            var id = ((string)value["window"], (DateTime)value["windowStart"]);
            if (!latest.TryGetValue(id, out var seen) || (long)seen["version"] < (long)value["version"])
            {
                latest[id] = value;
            }
        }

        var allTime = latest[(WindowNames.AllTime, DateTime.UnixEpoch)];
        Assert.Equal((totals.Count, totals.Sum, totals.Min, totals.Max, totals.Mean),
            ((long)allTime["count"], (double)allTime["sum"], (double)allTime["min"], (double)allTime["max"], (double)allTime["mean"]));
        var minuteWindows = latest.Where(pair => pair.Key.Window == "1m").OrderBy(pair => pair.Key.Start).Select(pair => pair.Value).ToList();
        Assert.Equal(
            windows.Items.Select(w => (w.WindowStart.UtcDateTime, w.Count, w.Sum, w.Min, w.Max)).OrderBy(w => w.UtcDateTime),
            minuteWindows.Select(w => ((DateTime)w["windowStart"], (long)w["count"], (double)w["sum"], (double)w["min"], (double)w["max"])));
    }

    [Fact]
    public async Task ACompatibleNewEventSchemaFlowsThroughThePipelineBesideTheOldOne()
    {
        using var api = fixture.CreateApiClient();
        var key = $"avro-evolution-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        using var registry = await RegistryAsync();

        // An old-schema event through the API, then two from a newer producer straight onto events.
        using (var posted = await api.PostAsJsonAsync("/api/events", new { id = $"{key}-old", key, value = 1.5, timestamp = now }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        using var producer = await ProducerAsync();
        var writtenWith = new List<int>();
        foreach (var (id, value) in new[] { ($"{key}-new-1", 2.0), ($"{key}-new-2", 4.0) })
        {
            var bytes = await AvroOnTheTopicsTests.NewerEventAsync(registry, id, key, value, now.AddMilliseconds(1), "gateway-7");
            writtenWith.Add(SchemaId(bytes));
            await producer.ProduceAsync(Topics.Events, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = bytes, Timestamp = new Timestamp(now) });
        }

        // One more old-schema event after them: old and new records share the topic, in both orders.
        using (var posted = await api.PostAsJsonAsync("/api/events", new { id = $"{key}-old-2", key, value = 8, timestamp = now.AddMilliseconds(2) }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        var totals = await WaitForCountAsync(api, key, 4);
        Assert.Equal((4L, 15.5), (totals.Count, totals.Sum));
        var versions = await registry.GetSubjectVersionsAsync(RecordSchemas.EventSubject);
        Assert.True(versions.Count >= 2, $"events-value has versions {string.Join(", ", versions)}");
        var latest = await registry.GetLatestSchemaAsync(RecordSchemas.EventSubject);
        Assert.Contains(latest.Id, writtenWith);
        Assert.Contains("\"source\"", latest.SchemaString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIncompatibleEventSchemaIsRefusedByTheRegistryWithItsReason()
    {
        using var registry = await RegistryAsync();
        var incompatible = LocalSchemaRegistryTests.WithField(RecordSchemas.Event, """{ "name": "unit", "type": "string" }""");

        var refused = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            registry.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(incompatible, SchemaType.Avro)));

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Contains("READER_FIELD_MISSING_DEFAULT_VALUE", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'unit'", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordsNotValidForTheirSchemaAreDeadLetteredWithAReasonAndThePipelineCarriesOn()
    {
        using var api = fixture.CreateApiClient();
        var key = $"avro-bad-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        using var producer = await ProducerAsync();
        var keyBytes = Encoding.UTF8.GetBytes(key);

        var json = await producer.ProduceAsync(Topics.Events, new Message<byte[], byte[]> { Key = keyBytes, Value = PipelineJson.Serialize(new PipelineEvent($"{key}-json", key, 100, now)) });
        var unknownId = await producer.ProduceAsync(Topics.Events, new Message<byte[], byte[]> { Key = keyBytes, Value = [0, 0x7F, 0, 0, 1, 2, 3] });
        var aggregateAsJson = await producer.ProduceAsync(Topics.Aggregates, new Message<byte[], byte[]>
        {
            Key = keyBytes,
            Value = PipelineJson.Serialize(new AggregateRecord(key, WindowNames.AllTime, WindowNames.AllTimeStart, null, 1, 1, 1, 1, 1, false, 2, now)),
        });
        using (var posted = await api.PostAsJsonAsync("/api/events", new { id = $"{key}-good", key, value = 2.5, timestamp = now }))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        // Neither service stalled: the good event after the bad ones is counted, the bad ones are not.
        var totals = await WaitForCountAsync(api, key, 1);
        Assert.Equal((1L, 2.5), (totals.Count, totals.Sum));

        var reasons = await DeadLetterReasonsAsync([json.TopicPartitionOffset, unknownId.TopicPartitionOffset, aggregateAsJson.TopicPartitionOffset]);
        Assert.Equal(RecordFormatRejections.NotAvro, reasons[json.TopicPartitionOffset].Reason);
        Assert.Equal("pipeline-stream-processor", reasons[json.TopicPartitionOffset].Service);
        Assert.Contains("JSON", reasons[json.TopicPartitionOffset].Detail, StringComparison.Ordinal);
        Assert.Equal(RecordFormatRejections.UnknownSchemaId, reasons[unknownId.TopicPartitionOffset].Reason);
        Assert.Equal(RecordFormatRejections.NotAvro, reasons[aggregateAsJson.TopicPartitionOffset].Reason);
        Assert.Equal("pipeline-sink", reasons[aggregateAsJson.TopicPartitionOffset].Service);
    }

    private async Task<CachedSchemaRegistryClient> RegistryAsync() =>
        new(new SchemaRegistryConfig { Url = await fixture.App.GetConnectionStringAsync(ConnectionNames.SchemaRegistry) });

    private async Task<IProducer<byte[], byte[]>> ProducerAsync() =>
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = await fixture.App.GetConnectionStringAsync(ConnectionNames.Kafka) }).Build();

    private static int SchemaId(byte[] value) => (value[1] << 24) | (value[2] << 16) | (value[3] << 8) | value[4];

    private static bool Matches(Dictionary<(string Window, DateTime Start), GenericRecord> latest, AggregateTotals totals, WindowPage windows) =>
        latest.TryGetValue((WindowNames.AllTime, DateTime.UnixEpoch), out var allTime)
        && (long)allTime["count"] == totals.Count
        && windows.Items.All(w => latest.TryGetValue(("1m", w.WindowStart.UtcDateTime), out var window) && (long)window["count"] == w.Count);

    private static async Task<AggregateTotals> WaitForCountAsync(HttpClient api, string key, long count)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var response = await api.GetAsync($"/api/totals?key={Uri.EscapeDataString(key)}");
            if (response.StatusCode == HttpStatusCode.OK && await response.Content.ReadFromJsonAsync<AggregateTotals>() is { } totals
                && (totals.Count >= count || DateTime.UtcNow > deadline))
            {
                Assert.Equal(count, totals.Count);
                return totals;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{key} did not reach {count} events within {Patience}.");
            await Task.Delay(250);
        }
    }

    private async Task<Dictionary<TopicPartitionOffset, (string Reason, string Detail, string Service)>> DeadLetterReasonsAsync(IReadOnlyList<TopicPartitionOffset> sources)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = await fixture.App.GetConnectionStringAsync(ConnectionNames.Kafka),
            GroupId = $"dead-letters-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(Topics.DeadLetter);
        var found = new Dictionary<TopicPartitionOffset, (string, string, string)>();
        var deadline = DateTime.UtcNow + Patience;
        while (found.Count < sources.Count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is not { } result)
            {
                continue;
            }

            string Header(string name) => result.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
            var source = new TopicPartitionOffset(Header(DeadLetterHeaders.SourceTopic), int.Parse(Header(DeadLetterHeaders.SourcePartition) is { Length: > 0 } p ? p : "-1"),
                long.Parse(Header(DeadLetterHeaders.SourceOffset) is { Length: > 0 } o ? o : "-1"));
            if (sources.Contains(source))
            {
                found[source] = (Header(DeadLetterHeaders.Reason), Header(DeadLetterHeaders.Detail), Header(DeadLetterHeaders.Service));
            }
        }

        Assert.Equal(sources.Count, found.Count);
        return found;
    }
}
