namespace Pipeline.Tests.AppHost;

[Collection(PipelineAppCollection.Name)]
public sealed class LocalBrokerCommandsTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task BrokerTakenDownByItsCommandRefusesClientsUntilBroughtBackUpAndTheApiThenResumes()
    {
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var bootstrapServers = await fixture.App.GetConnectionStringAsync("kafka");
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
        await IngestResumesWithoutRestartingTheApiAsync();
    }

    // The API's producer went through the outage too; it must take events again by itself.
    private async Task IngestResumesWithoutRestartingTheApiAsync()
    {
        using var api = fixture.CreateApiClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await api.PostAsJsonAsync("/api/events", new { key = "broker-commands-test", value = 1 });
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.True(DateTime.UtcNow < deadline, "The API did not accept events within 60 s of the broker's return.");
        }
    }
}
