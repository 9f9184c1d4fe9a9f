namespace Pipeline.Tests.AppHost;

/// <summary>
/// The broker's dashboard commands, on an app of its own: after a short outage the stream
/// processor has been seen (2026-12-02) to hang rejoining its group after Streamiz's
/// TaskMigratedException ("Unknown member"), and on the shared app that failed every later test.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class LocalBrokerCommandsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task BrokerTakenDownByItsCommandRefusesClientsUntilBroughtBackUpAndThePipelineThenResumes()
    {
        await using var app = await PipelineAppFixture.StartAsync();
        await using var logs = await ResourceLogTail.StartAsync(app, ["kafka", "api", "stream-processor", "sink"]);
        var commands = app.Services.GetRequiredService<ResourceCommandService>();
        var bootstrapServers = await app.GetConnectionStringAsync("kafka");
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = 2000,
        }).Build();
        var probe = new Message<string, string> { Key = "broker-commands-test", Value = "probe" };

        var down = await commands.ExecuteCommandAsync("kafka", LocalKafkaBuilderExtensions.TakeDownCommand);
        try
        {
            Assert.True(down.Success, down.Message);
            var failure = await Assert.ThrowsAsync<ProduceException<string, string>>(() => producer.ProduceAsync(Topics.DeadLetter, probe));
            Assert.Equal(ErrorCode.Local_MsgTimedOut, failure.Error.Code);
        }
        finally
        {
            var up = await commands.ExecuteCommandAsync("kafka", LocalKafkaBuilderExtensions.BringUpCommand);
            Assert.True(up.Success, up.Message);
        }

        var delivered = await producer.ProduceAsync(Topics.DeadLetter, probe);
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        using var api = PipelineAppFixture.CreateApiClient(app);
        var key = $"broker-commands-{Guid.NewGuid():N}";
        await IngestResumesWithoutRestartingTheApiAsync(api, key, logs);
        await AggregatesResumeWithoutRestartingAnyServiceAsync(api, key, logs);
    }

    // The API's producer went through the outage too; it must take events again by itself.
    private static async Task IngestResumesWithoutRestartingTheApiAsync(HttpClient api, string key, ResourceLogTail logs)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var response = await api.PostAsJsonAsync("/api/events", new { key, value = 1 });
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, $"The API did not accept events within {Patience.TotalSeconds} s of the broker's return.\n{logs}");
            await Task.Delay(200);
        }
    }

    // The processor and the sink went through it as well: the event accepted after it is counted and stored.
    private static async Task AggregatesResumeWithoutRestartingAnyServiceAsync(HttpClient api, string key, ResourceLogTail logs)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var response = await api.GetAsync($"/api/aggregates/{Uri.EscapeDataString(key)}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var totals = await response.Content.ReadFromJsonAsync<AggregateTotals>();
                Assert.Equal((1L, 1.0), (totals!.Count, totals.Sum));
                return;
            }

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, $"The event accepted after the broker's return was not aggregated and stored within {Patience.TotalSeconds} s.\n{logs}");
            await Task.Delay(200);
        }
    }
}
