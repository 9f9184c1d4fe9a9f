using Avro.Generic;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Pipeline.Tests.Hosting.Local;
using Pipeline.Tests.StreamProcessor;

namespace Pipeline.Tests.ServiceDefaults.Records;

/// <summary>
/// The Avro record format against the local registry: what the processor counts and what it
/// dead-letters (with the processor's topology in TopologyTestDriver), what the sink reads, and
/// records of an old and a newer compatible event schema sharing the topic.
/// </summary>
public sealed class AvroOnTheTopicsTests : IAsyncLifetime
{
    private LocalSchemaRegistry _registry = null!;
    private CachedSchemaRegistryClient _client = null!;
    private AvroRecordFormat _format = null!;

    public async Task InitializeAsync()
    {
        _registry = await LocalSchemaRegistry.StartAsync();
        _client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url });
        _format = new AvroRecordFormat(_client);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task WritersRegisterTheContractsSchemasUnderTheTopicSubjects()
    {
        var at = new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero);
        var eventValue = _format.WriteEvent(new PipelineEvent("e1", "k", 1.5, at));
        var aggregate = new AggregateRecord("k", "1m", at, at.AddMinutes(1), 1, 1.5, 1.5, 1.5, 1.5, false, 4, at);
        var key = _format.WriteAggregateKey(aggregate.Id);
        var value = _format.WriteAggregate(aggregate);

        Assert.Equal([RecordSchemas.AggregateKeySubject, RecordSchemas.AggregateSubject, RecordSchemas.EventSubject], await _client.GetAllSubjectsAsync());
        Assert.All(new[] { eventValue, key, value }, bytes => Assert.Equal(0, bytes[0]));
        var read = _format.ReadEvent(eventValue).Message!;
        Assert.Equal(("e1", "k", 1.5, at), (read.Id, read.Key, read.Value, read.Timestamp));
        Assert.Equal(aggregate, _format.ReadAggregate(value).Message);
        Assert.True(value.Length < PipelineJson.Serialize(aggregate).Length / 2, $"Avro {value.Length} bytes against JSON {PipelineJson.Serialize(aggregate).Length}");
    }

    [Fact]
    public void AvroEventsAreCountedAndAvroAggregatesComeOut()
    {
        using var driver = new ProcessorDriver(format: _format);
        driver.Send("k", 2, driver.FutureHour);
        driver.Send("k", 3, driver.FutureHour.AddSeconds(1));

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Equal(5, updates[AggregationTests.AllTime("k")].Sum);
        Assert.Equal(2, updates[AggregationTests.AllTime("k")].Count);
        Assert.All(driver.ReadAggregateRecords(), record => Assert.Equal(0, record.Message.Value[0]));
    }

    public static TheoryData<string, string> BadRecords => new()
    {
        { "json-from-an-old-producer", RecordFormatRejections.NotAvro },
        { "wrong-magic-byte", RecordFormatRejections.NotAvro },
        { "unknown-schema-id", RecordFormatRejections.UnknownSchemaId },
        { "truncated-avro", RecordFormatRejections.InvalidAvro },
        { "an-aggregate-on-events", RecordFormatRejections.InvalidAvro },
        { "a-corrupt-string-length", RecordFormatRejections.InvalidAvro },
    };

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void ARecordNotValidForItsSchemaIsDeadLetteredWithAReasonAndTheStreamCarriesOn(string record, string reason)
    {
        using var driver = new ProcessorDriver(format: _format);
        var good = _format.WriteEvent(new PipelineEvent("id-1", "k", 1, driver.FutureHour));
        var value = record switch
        {
            "json-from-an-old-producer" => PipelineJson.Serialize(new PipelineEvent("id-0", "k", 1, driver.FutureHour)),
            "wrong-magic-byte" => [1, .. good[1..]],
            "unknown-schema-id" => [0, 0, 0, 0x7F, 0x7F, .. good[5..]],
            "truncated-avro" => good[..8],
            // The id's length prefix says about a billion bytes follow.
            "a-corrupt-string-length" => [.. good[..5], 0xFE, 0xFF, 0xFF, 0xFF, 0x07, .. good[6..]],
            "an-aggregate-on-events" => _format.WriteAggregate(new AggregateRecord("k", "all", DateTimeOffset.UnixEpoch, null, 1, 1, 1, 1, 1, false, 2, driver.FutureHour)),
            _ => throw new ArgumentOutOfRangeException(nameof(record)),
        };

        driver.SendRaw(Encoding.UTF8.GetBytes("k"), value);
        driver.Send("k", 2, driver.FutureHour);

        var deadLetter = Assert.Single(driver.ReadDeadLetters());
        var updates = AggregationTests.Latest(driver.Settle());
        Assert.Equal(reason, Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes(DeadLetterHeaders.Reason)));
        Assert.False(string.IsNullOrWhiteSpace(Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes(DeadLetterHeaders.Detail))));
        Assert.Equal(value, deadLetter.Message.Value);
        Assert.Equal(2, updates[AggregationTests.AllTime("k")].Sum);
        Assert.Equal(1, updates[AggregationTests.AllTime("k")].Count);
    }

    [Fact]
    public async Task OldAndNewCompatibleEventsShareTheTopicAndAreBothCounted()
    {
        // Made before the driver: TopologyTestDriver is used from one thread.
        DateTimeOffset hour;
        using (var probe = new ProcessorDriver())
        {
            hour = probe.FutureHour;
        }

        var newer = await NewerEventAsync(_client, "new", "k", 3, hour.AddSeconds(1), "sensor-gateway");
        using var driver = new ProcessorDriver(format: _format);

        driver.Send("k", 2, hour, id: "old");
        driver.SendRaw(Encoding.UTF8.GetBytes("k"), newer);
        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Empty(driver.ReadDeadLetters());
        Assert.Equal([1, 2], await _client.GetSubjectVersionsAsync(RecordSchemas.EventSubject));
        Assert.Equal(5, updates[AggregationTests.AllTime("k")].Sum);
        Assert.Equal(2, updates[AggregationTests.AllTime("k")].Count);
    }

    [Fact]
    public void TheSinkReadsAvroAggregatesAndDeadLettersJsonOnes()
    {
        var at = new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero);
        var aggregate = new AggregateRecord("k", "1h", at, at.AddHours(1), 3, 6, 1, 3, 2, true, 9, at.AddMinutes(5));

        var parsed = Pipeline.Sink.AggregateRecordParser.Parse(_format, _format.WriteAggregate(aggregate));
        var json = Pipeline.Sink.AggregateRecordParser.Parse(_format, PipelineJson.Serialize(aggregate));

        Assert.Equal(aggregate, parsed.Record);
        Assert.Null(json.Record);
        Assert.Equal(RecordFormatRejections.NotAvro, json.Reason);
        Assert.Contains("JSON", json.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARegistryOutOfReachIsNotTheRecordsFaultItIsThrownToBeRetriedNotDeadLettered()
    {
        var written = _format.WriteEvent(new PipelineEvent("e1", "k", 1, DateTimeOffset.UtcNow));
        var gone = await LocalSchemaRegistry.StartAsync();
        var url = gone.Url;
        await gone.DisposeAsync();
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = url, RequestTimeoutMs = 2000 });
        var unreachable = new AvroRecordFormat(client);

        Assert.Throws<SchemaRegistryUnavailableException>(() => unreachable.ReadEvent(written));
        Assert.Throws<SchemaRegistryUnavailableException>(() => unreachable.WriteEvent(new PipelineEvent("e2", "k", 1, DateTimeOffset.UtcNow)));
        // A record that is bad whatever the registry says is still a rejection.
        Assert.Equal(RecordFormatRejections.NotAvro, unreachable.ReadEvent("{}"u8.ToArray()).Reason);
    }

    [Fact]
    public async Task WhileTheRegistryIsOutOfReachTheProcessorStopsOnAGoodRecordRatherThanDeadLetterIt()
    {
        var good = _format.WriteEvent(new PipelineEvent("e1", "k", 1, DateTimeOffset.UtcNow));
        var gone = await LocalSchemaRegistry.StartAsync();
        var url = gone.Url;
        await gone.DisposeAsync();
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = url, RequestTimeoutMs = 2000 });
        using var driver = new ProcessorDriver(format: new AvroRecordFormat(client));

        var thrown = Record.Exception(() => driver.SendRaw(Encoding.UTF8.GetBytes("k"), good));

        // The stream stops (the worker starts it again with back-off and re-reads from the last commit).
        Assert.NotNull(thrown);
        var chain = new List<Exception>();
        for (var e = thrown; e is not null; e = e.InnerException)
        {
            chain.Add(e);
        }

        Assert.Contains(chain, e => e is SchemaRegistryUnavailableException);
        Assert.Empty(driver.ReadDeadLetters());
    }

    /// <summary>An event written by a newer producer whose schema added an optional <c>source</c>: registered as version 2.</summary>
    internal static async Task<byte[]> NewerEventAsync(ISchemaRegistryClient client, string id, string key, double value, DateTimeOffset timestamp, string source)
    {
        var schema = (global::Avro.RecordSchema)global::Avro.Schema.Parse(LocalSchemaRegistryTests.EventWithSource);
        var record = new GenericRecord(schema);
        record.Add("id", id);
        record.Add("key", key);
        record.Add("value", value);
        record.Add("timestamp", timestamp.UtcDateTime);
        record.Add("source", source);
        var serializer = new AvroSerializer<GenericRecord>(client, new AvroSerializerConfig { AutoRegisterSchemas = true });
        return await serializer.SerializeAsync(record, new SerializationContext(MessageComponentType.Value, Topics.Events));
    }
}
