namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// The broker goes away while the processor has records out for delivery: its commit waits for
/// them and the stream thread stops polling, while Streamiz still says RUNNING. The processor says
/// it is stalled (Critical log, <c>/health</c> Unhealthy) and, once the broker is back, that it
/// polls again, and every aggregate still ends up exact.
/// </summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class StallTests
{
    private static readonly TimeSpan[] Windows = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];

    [Fact]
    public async Task AStreamThreadHeldByABrokerThatDoesNotAnswerIsReportedAsStalledUntilItPollsAgain()
    {
        using var pipeline = new LocalPipeline("stall-" + Guid.NewGuid().ToString("N")[..8]);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        using var process = await StartAtWorkAsync(pipeline, reader, "stalled", seed: 3, new()
        {
            ["StreamProcessor__StallLimit"] = "2s",
            ["Logging__LogLevel__Pipeline.StreamProcessor.Hosting.StreamThreadStallWatchdog"] = "Information",
        });

        pipeline.Broker.TakeDown();
        var stalled = await HealthWithinAsync(process, body => body == "Unhealthy", TimeSpan.FromSeconds(30));
        var stallLogged = await process.PrintsAsync("STALLED: A stream thread has not polled Kafka", TimeSpan.FromSeconds(10));
        var pollingAgain = process.PrintsAsync("poll Kafka again", TimeSpan.FromSeconds(60));
        pipeline.Broker.BringUp();
        await process.WaitUntilHealthy(TimeSpan.FromSeconds(60));

        var truth = pipeline.Truth(Windows);
        var settled = reader.WaitFor(truth, TimeSpan.FromSeconds(60));

        Assert.True(stalled is (HttpStatusCode.ServiceUnavailable, "Unhealthy"), $"/health: {stalled.Status} {stalled.Body}\n{process.Output}");
        Assert.True(stallLogged, $"no STALLED line\n{process.Output}");
        Assert.True(await pollingAgain, $"no line saying it polls again\n{process.Output}");
        Assert.True(settled, $"{reader.Records} aggregate records read; differences:\n{string.Join("\n", reader.Differences(truth).Take(15))}\n{process.Output}");
    }

    [Fact]
    public async Task ARecordTheBrokerDoesNotTakeWithinTheDeliveryTimeoutFailsTheStreamWhichStartsAgainAndCountsEveryEventOnce()
    {
        using var pipeline = new LocalPipeline("expiry-" + Guid.NewGuid().ToString("N")[..8]);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        // A group session longer than the outage before the stream fails: its expiry would revoke the
        // tasks (REBALANCING) and could come first on a loaded machine (CI once saw it), and what is
        // tested is the delivery timeout. Short enough that the failed stream's member, which could
        // not leave the group, expires soon after the broker is back.
        using var process = await StartAtWorkAsync(pipeline, reader, "expired", seed: 4, new()
        {
            ["StreamProcessor__DeliveryTimeout"] = "3s",
            ["StreamProcessor__SessionTimeout"] = "30s",
        });

        // Down for longer than the delivery timeout: the records held in the commit expire.
        pipeline.Broker.TakeDown();
        var failed = await process.PrintsAsync("The stream processor stopped in state ERROR", TimeSpan.FromSeconds(30));
        pipeline.Broker.BringUp();
        await process.WaitUntilHealthy(TimeSpan.FromSeconds(90));

        var truth = pipeline.Truth(Windows);
        var settled = reader.WaitFor(truth, TimeSpan.FromSeconds(60));

        Assert.True(failed, $"the stream did not fail on its expired records\n{process.Output}");
        Assert.True(settled, $"{reader.Records} aggregate records read; differences:\n{string.Join("\n", reader.Differences(truth).Take(15))}\n{process.Output}");
        Assert.True(reader.Breaches.Count == 0, string.Join("\n", reader.Breaches.Take(20)));
    }

    /// <summary>
    /// A healthy processor with <paramref name="settings"/> (and a grace longer than the test), fed
    /// enough events that it is still at work once its first updates reach <paramref name="reader"/>.
    /// </summary>
    private static async Task<ProcessorProcess> StartAtWorkAsync(
        LocalPipeline pipeline, AggregatesReader reader, string name, int seed, Dictionary<string, string> settings)
    {
        settings["Aggregation__Grace"] = "1h";
        var process = ProcessorProcess.Start(name, pipeline.Broker.BootstrapServers, pipeline.ApplicationId, settings);
        try
        {
            await process.WaitUntilHealthy(TimeSpan.FromSeconds(60));
        }
        catch
        {
            process.Dispose();
            throw;
        }

        pipeline.Produce(LocalPipeline.Events(new Random(seed), 60_000, keys: 500, DateTimeOffset.UtcNow, []).ToList());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (reader.Records == 0 && DateTime.UtcNow < deadline)
        {
            reader.ReadFor(TimeSpan.FromMilliseconds(20));
        }

        return process;
    }

    /// <summary>The first <c>/health</c> answer whose body passes <paramref name="wanted"/>, or the last one.</summary>
    private static async Task<(HttpStatusCode Status, string Body)> HealthWithinAsync(ProcessorProcess process, Func<string, bool> wanted, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var answer = await process.Health(TimeSpan.FromMilliseconds(250));
            if (wanted(answer.Body) || DateTime.UtcNow > deadline)
            {
                return answer;
            }
        }
    }
}
