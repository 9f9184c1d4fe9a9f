using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.Testing;
using Confluent.Kafka;
using Pipeline.Contracts;

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
        var sent = PipelineJson.Deserialize<PipelineEvent>(consumed.Message.Value);
        Assert.Equal((receipt.GetProperty("id").GetString(), key, 21.5), (sent.Id, sent.Key, sent.Value));
        Assert.NotNull(consumed.Message.Headers.GetLastBytes("traceparent"));
    }
}
