using Avro.Generic;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;

namespace Pipeline.Tests.AppHost;

[Collection(PipelineAppCollection.Name)]
public sealed class CrossProcessMessagingTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task EventProducedByTheApiProcessIsConsumedFromTheEventsTopicByAnotherProcess()
    {
        using var api = fixture.CreateApiClient();
        var key = $"cross-process-{Guid.NewGuid():N}";
        var timestamp = DateTimeOffset.UtcNow.AddSeconds(-5);

        using var response = await api.PostAsJsonAsync("/api/events", new { key, value = 21.5, timestamp });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var receipt = await response.Content.ReadFromJsonAsync<JsonElement>();

        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = await fixture.App.GetConnectionStringAsync("kafka"),
            GroupId = $"test-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
        }).Build();
        var position = new TopicPartitionOffset(Topics.Events, receipt.GetProperty("partition").GetInt32(), receipt.GetProperty("offset").GetInt64());
        consumer.Assign(position);
        var consumed = consumer.Consume(TimeSpan.FromSeconds(30));

        Assert.NotNull(consumed);
        Assert.Equal(key, consumed.Message.Key);
        Assert.Equal(timestamp.ToUnixTimeMilliseconds(), consumed.Message.Timestamp.UnixTimestampMs);
        // Avro in the Confluent wire format, read with Confluent's deserializer and the registry's URL.
        Assert.Equal(0, consumed.Message.Value[0]);
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = await fixture.App.GetConnectionStringAsync(ConnectionNames.SchemaRegistry) });
        var sent = await new AvroDeserializer<GenericRecord>(registry).DeserializeAsync(consumed.Message.Value, isNull: false, SerializationContext.Empty);
        Assert.Equal((receipt.GetProperty("id").GetString(), key, 21.5), ((string)sent["id"], (string)sent["key"], (double)sent["value"]));
        Assert.NotNull(consumed.Message.Headers.GetLastBytes("traceparent"));
    }
}
