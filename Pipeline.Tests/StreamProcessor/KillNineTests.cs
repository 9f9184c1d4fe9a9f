namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// The processor as separate processes on the local Kafka broker, killed with SIGKILL while
/// events keep flowing, so kills land mid-batch, mid-commit, anywhere. Once the survivors
/// settle, every aggregate equals the truth computed here, and the aggregates topic never
/// breaks its contract (no version going back, one content per version, nothing after a final).
/// </summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class KillNineTests
{
    private static readonly TimeSpan[] Windows = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];
    private static readonly TimeSpan HealthyWithin = TimeSpan.FromSeconds(20);

    // A grace far longer than the test, so the truth does not depend on when windows close.
    private static readonly Dictionary<string, string> Settings = new() { ["Aggregation__Grace"] = "1h" };

    [Fact]
    public async Task AProcessorKilledRepeatedlyWhileEventsFlowEndsWithEveryAggregateExact()
    {
        var applicationId = "kill-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var random = new Random(9);
        var processes = new List<ProcessorProcess>();
        try
        {
            await using (var producer = ContinuousProducer.Start(pipeline, new Random(random.Next())))
            {
                for (var round = 0; round < 3; round++)
                {
                    var process = ProcessorProcess.Start($"processor-{round + 1}", pipeline.Broker.BootstrapServers, applicationId, Settings);
                    processes.Add(process);
                    await process.WaitUntilHealthy(HealthyWithin);
                    await Task.Delay(random.Next(300, 1500));
                    process.KillNine();
                }

                processes.Add(ProcessorProcess.Start("last", pipeline.Broker.BootstrapServers, applicationId, Settings));
                await processes[^1].WaitUntilHealthy(HealthyWithin);
            }

            var truth = pipeline.Truth(Windows);
            var settled = reader.WaitFor(truth, TimeSpan.FromSeconds(30));

            Assert.True(settled, Report(reader, truth, pipeline, processes));
            Assert.True(reader.Breaches.Count == 0, string.Join(Environment.NewLine, reader.Breaches.Take(20)));
        }
        finally
        {
            processes.ForEach(process => process.Dispose());
        }
    }

    [Fact]
    public async Task WhenOneOfTwoProcessorsIsKilledTheOtherTakesOverItsPartitions()
    {
        var applicationId = "pair-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var random = new Random(11);
        using var doomed = ProcessorProcess.Start("doomed", pipeline.Broker.BootstrapServers, applicationId, Settings);
        using var survivor = ProcessorProcess.Start("survivor", pipeline.Broker.BootstrapServers, applicationId, Settings);
        await Task.WhenAll(doomed.WaitUntilHealthy(HealthyWithin), survivor.WaitUntilHealthy(HealthyWithin));

        await using (ContinuousProducer.Start(pipeline, new Random(random.Next())))
        {
            await Task.Delay(random.Next(1000, 2000));
            doomed.KillNine();
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        var truth = pipeline.Truth(Windows);
        var settled = reader.WaitFor(truth, TimeSpan.FromSeconds(30));

        Assert.True(settled, Report(reader, truth, pipeline, [doomed, survivor]));
        Assert.True(reader.Breaches.Count == 0, string.Join(Environment.NewLine, reader.Breaches.Take(20)));
        Assert.False(survivor.HasExited);
    }

    private static string Report(AggregatesReader reader, Dictionary<Pipeline.Contracts.AggregateId, (long, double, double, double)> truth, LocalPipeline pipeline, IEnumerable<ProcessorProcess> processes) =>
        $"{pipeline.Sent.Count} events sent, {reader.Records} aggregate records read; differences:{Environment.NewLine}" +
        string.Join(Environment.NewLine, reader.Differences(truth).Take(15)) + Environment.NewLine +
        string.Join(Environment.NewLine, processes.Select(process => process.Output));

    /// <summary>Produces small batches of events, duplicates included, every 10 ms until disposed.</summary>
    private sealed class ContinuousProducer : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _producing;

        private ContinuousProducer(LocalPipeline pipeline, Random random)
        {
            _producing = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    pipeline.Produce(LocalPipeline.Events(random, 15, keys: 60, DateTimeOffset.UtcNow, pipeline.Sent).ToList());
                    await Task.Delay(10);
                }
            });
        }

        public static ContinuousProducer Start(LocalPipeline pipeline, Random random) => new(pipeline, random);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _producing;
            _stop.Dispose();
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LocalKafkaCollection
{
    public const string Name = "Stream processor on the local Kafka broker";
}
