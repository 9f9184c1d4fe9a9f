using System.Reflection;
using System.Runtime.InteropServices;

namespace Pipeline.Tests.Api.Events;

/// <summary>
/// A producer that fails fatally can send nothing again. The API replaces it: events it could not
/// take are answered 503 (never 202), and ingest goes on without a restart.
/// </summary>
public sealed class FatalProducerErrorTests(PartitionedEventsTopic topic) : IClassFixture<PartitionedEventsTopic>
{
    [Fact]
    public async Task AfterAFatalProducerErrorTheApiTakesEventsAgainWithoutARestart()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers,
            new Dictionary<string, string?> { ["Ingest:ProduceTimeout"] = "00:00:02" });
        using var client = api.CreateApiClient();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out var beforeId))).StatusCode);
        var producers = api.Services.GetRequiredService<RenewingKafkaProducer<string, byte[]>>();
        var failed = producers.Current;

        LocalKafkaBroker.InjectFatalProducerError(NativeClient(failed), ErrorCode.OutOfOrderSequenceNumber, "rehearsed fatal error");

        // Events answered meanwhile are 202 only if written; the API must come back by itself.
        var accepted = new List<string> { beforeId };
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var response = await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out var id));
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(id);
                if (!ReferenceEquals(producers.Current, failed))
                {
                    break;
                }
            }
            else
            {
                await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "events-not-acknowledged");
            }

            Assert.True(DateTime.UtcNow < deadline, "The API did not take events again within 20 s of a fatal producer error.");
            await Task.Delay(100);
        }

        Assert.Equal(1, producers.Renewals);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, producers.LastFatalError?.Code);
        Assert.Contains(api.Logs.Entries, entry => entry.Level == LogLevel.Critical && entry.Message.Contains("replaced by a new producer", StringComparison.Ordinal));
        var inTopic = topic.ReadAllIds();
        Assert.All(accepted, acceptedId => Assert.Contains(acceptedId, inTopic));
        using var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    // Confluent.Kafka keeps the rd_kafka_t pointer internal; librdkafka's test hook needs it.
    private static nint NativeClient(IClient client)
    {
        var handle = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(client.Handle);
        return ((SafeHandle)handle!).DangerousGetHandle();
    }
}
