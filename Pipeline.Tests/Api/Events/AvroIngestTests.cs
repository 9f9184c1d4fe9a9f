using Avro.Generic;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Events;

/// <summary>The API with <c>Kafka:RecordFormat=Avro</c>: what it writes, and what a client sees while the registry is out of reach.</summary>
public sealed class AvroIngestTests : IAsyncLifetime
{
    private LocalKafkaBroker _broker = null!;

    public Task InitializeAsync()
    {
        _broker = LocalKafkaBroker.Start();
        _broker.CreateTopic(Topics.Events, 1);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _broker.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task WithTheRegistryOutOfReachIngestAnswers503AndProducesNothingThenWritesAvroOnceItIsBack()
    {
        // A loopback port where nothing listens yet, and where the registry will start.
        var probe = await LocalSchemaRegistry.StartAsync();
        var port = new Uri(probe.Url).Port;
        await probe.DisposeAsync();

        await using var api = new IngestApiFactory(_broker.BootstrapServers, new Dictionary<string, string?>
        {
            ["Kafka:RecordFormat"] = "Avro",
            ["ConnectionStrings:schema-registry"] = $"http://127.0.0.1:{port}",
        });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", IngestApiFactory.ApiKey);

        using (var refused = await client.PostAsJsonAsync("/api/events", new { id = "e1", key = "k", value = 1.5 }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("schema-registry-unavailable", problem.GetProperty("code").GetString());
        }

        Assert.Equal(0, HighWatermark());

        await using var registry = await LocalSchemaRegistry.StartAsync(port);
        using (var accepted = await client.PostAsJsonAsync("/api/events", new { id = "e1", key = "k", value = 1.5 }))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = "avro-ingest-test" }).Build();
        consumer.Assign(new TopicPartitionOffset(Topics.Events, 0, 0));
        var record = consumer.Consume(TimeSpan.FromSeconds(30));
        using var registryClient = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url });
        var written = await new AvroDeserializer<GenericRecord>(registryClient).DeserializeAsync(record.Message.Value, false, SerializationContext.Empty);
        Assert.Equal(("e1", "k", 1.5), ((string)written["id"], (string)written["key"], (double)written["value"]));
        Assert.Equal(1, HighWatermark());
    }

    private long HighWatermark()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = "watermarks" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Events, 0), TimeSpan.FromSeconds(10)).High.Value;
    }
}
