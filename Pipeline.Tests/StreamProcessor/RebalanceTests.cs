using Pipeline.StreamProcessor.Hosting;
using Streamiz.Kafka.Net.Kafka;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// Rebalances of a processor at work whose commit cannot go through. Streamiz 1.8 commits before it
/// hands partitions back, and when that commit fails it leaves the stream thread waiting for a
/// rebalance that has ended: the thread never polls again. Seen after a 3 s outage of the AppHost's
/// broker (the group forgot the member), and the likely cause of the survivor that did not take
/// over in a failover test (the local broker refuses commits while members rejoin).
/// </summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class RebalanceTests
{
    private const short OffsetCommitApiKey = 8;
    private const short HeartbeatApiKey = 12;

    private static readonly TimeSpan[] Windows = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];

    /// <summary>
    /// The group coordinator forgets the processor's member, as after a broker outage longer than the
    /// session: the next heartbeat is answered UnknownMemberId and the client reports its partitions
    /// lost. The processor closes its tasks without a commit, rejoins, and goes on.
    /// </summary>
    [Fact]
    public Task AProcessorItsGroupForgetsWhileAtWorkRejoinsAndCountsEveryEventOnce() =>
        // The next heartbeat (every third of the 6 s session) is answered UnknownMemberId.
        GoesOnAfterAsync("forgotten", seed: 11, new(), TimeSpan.FromSeconds(90), "lost its partitions",
            broker => broker.FailNextRequests(HeartbeatApiKey, ErrorCode.UnknownMemberId));

    /// <summary>
    /// The group starts a rebalance (a heartbeat answered RebalanceInProgress) and refuses the commit
    /// Streamiz makes before it hands the partitions back. The processor hands them back without it,
    /// rejoins, and goes on. Commits are 20 s apart here, so that the refused commit is the hand-back's
    /// and not a periodic one (Streamiz rejoins by itself after a periodic commit fails).
    /// </summary>
    [Fact]
    public Task AProcessorWhoseCommitIsRefusedWhileItHandsBackItsPartitionsRejoinsAndCountsEveryEventOnce() =>
        GoesOnAfterAsync(
            "refused", seed: 13, new() { ["Aggregation__EmitInterval"] = "21s", ["StreamProcessor__CommitInterval"] = "20s" },
            TimeSpan.FromSeconds(120), "without committing their offsets",
            broker =>
            {
                broker.FailNextRequests(OffsetCommitApiKey, ErrorCode.RebalanceInProgress);
                broker.FailNextRequests(HeartbeatApiKey, ErrorCode.RebalanceInProgress);
            });

    /// <summary>
    /// A second instance joins a processor at work, and they share the partitions: both go on.
    /// (The local broker refuses the first one's periodic commit while the members rejoin, which a
    /// real broker accepts; Streamiz rejoins after it.)
    /// </summary>
    [Fact]
    public async Task AProcessorAtWorkHandsPartitionsToASecondInstanceAndBothGoOnCountingEveryEventOnce()
    {
        using var pipeline = new LocalPipeline("joined-" + Guid.NewGuid().ToString("N")[..8]);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var settings = new Dictionary<string, string> { ["Aggregation__Grace"] = "1h", ["StreamProcessor__StallLimit"] = "5s" };
        using var first = ProcessorProcess.Start("first", pipeline.Broker.BootstrapServers, pipeline.ApplicationId, settings);
        await first.WaitUntilHealthy(TimeSpan.FromSeconds(60));
        var random = new Random(12);
        pipeline.Produce(LocalPipeline.Events(random, 20_000, keys: 300, DateTimeOffset.UtcNow, []).ToList());

        using var second = ProcessorProcess.Start("second", pipeline.Broker.BootstrapServers, pipeline.ApplicationId, settings);
        await ProduceUntilAsync(pipeline, random, Task.WhenAll(second.WaitUntilHealthy(TimeSpan.FromSeconds(60)), Task.Delay(TimeSpan.FromSeconds(8))));

        pipeline.Produce(LocalPipeline.Events(random, 5_000, keys: 300, DateTimeOffset.UtcNow, pipeline.Sent).ToList());
        var truth = pipeline.Truth(Windows);
        var settled = reader.WaitFor(truth, TimeSpan.FromSeconds(90));
        var output = $"{first.Output}\n{second.Output}";

        Assert.True(settled, $"{reader.Records} aggregate records read; differences:\n{string.Join("\n", reader.Differences(truth).Take(15))}\n{output}");
        Assert.False(output.Contains("STALLED", StringComparison.Ordinal), $"a stream thread stalled in the rebalance\n{output}");
        Assert.False(first.HasExited || second.HasExited, output);
        Assert.True(reader.Breaches.Count == 0, string.Join("\n", reader.Breaches.Take(20)));
    }

    [Fact]
    public void ARevocationThatFailsClosesTheTasksAsLostBeforeItsFailureGoesOnToStreamiz()
    {
        var inner = new RecordingListener(new InvalidOperationException("Broker: Unknown member"));
        var listener = new LostPartitionsListener(inner, new PartitionHandBack(), NullLogger.Instance);
        List<TopicPartitionOffset> partitions = [new(new TopicPartition("events", 0), 42)];

        var thrown = Assert.Throws<InvalidOperationException>(() => listener.PartitionsRevoked(null!, partitions));

        Assert.Equal("Broker: Unknown member", thrown.Message);
        Assert.Equal(["revoked events [[0]] @42", "lost events [[0]] @42"], inner.Calls);
    }

    /// <summary>
    /// A processor with <paramref name="settings"/> at work when <paramref name="fault"/> strikes its
    /// broker: it must print <paramref name="said"/>, and go on until every aggregate is exact
    /// (within <paramref name="settleWithin"/>), with no thread stalled and nothing counted twice.
    /// Events keep arriving meanwhile, so that the processor holds offsets it has not committed.
    /// </summary>
    private static async Task GoesOnAfterAsync(
        string name, int seed, Dictionary<string, string> settings, TimeSpan settleWithin, string said, Action<LocalKafkaBroker> fault)
    {
        using var pipeline = new LocalPipeline($"{name}-{Guid.NewGuid().ToString("N")[..8]}");
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        settings["Aggregation__Grace"] = "1h";
        settings["StreamProcessor__StallLimit"] = "5s";
        using var process = ProcessorProcess.Start(name, pipeline.Broker.BootstrapServers, pipeline.ApplicationId, settings);
        await process.WaitUntilHealthy(TimeSpan.FromSeconds(60));
        var random = new Random(seed);
        pipeline.Produce(LocalPipeline.Events(random, 20_000, keys: 300, DateTimeOffset.UtcNow, []).ToList());

        fault(pipeline.Broker);
        var printed = process.PrintsAsync(said, TimeSpan.FromSeconds(20));
        await ProduceUntilAsync(pipeline, random, printed);

        pipeline.Produce(LocalPipeline.Events(random, 5_000, keys: 300, DateTimeOffset.UtcNow, pipeline.Sent).ToList());
        var truth = pipeline.Truth(Windows);
        var settled = reader.WaitFor(truth, settleWithin);
        var stalled = process.Output.Contains("STALLED", StringComparison.Ordinal);

        Assert.True(await printed, $"the processor did not say '{said}'\n{process.Output}");
        Assert.True(settled, $"{reader.Records} aggregate records read; differences:\n{string.Join("\n", reader.Differences(truth).Take(15))}\n{process.Output}");
        Assert.False(stalled, $"a stream thread stalled\n{process.Output}");
        Assert.True(reader.Breaches.Count == 0, string.Join("\n", reader.Breaches.Take(20)));
    }

    /// <summary>Produces small batches of events every 20 ms until <paramref name="until"/> completes.</summary>
    private static async Task ProduceUntilAsync(LocalPipeline pipeline, Random random, Task until)
    {
        while (!until.IsCompleted)
        {
            pipeline.Produce(LocalPipeline.Events(random, 200, keys: 300, DateTimeOffset.UtcNow, pipeline.Sent).ToList());
            await Task.Delay(20);
        }

        await until;
    }

    /// <summary>Streamiz's listener as far as the order of calls goes; its revocation fails with <paramref name="revocationFailure"/>.</summary>
    private sealed class RecordingListener(Exception revocationFailure) : IConsumerRebalanceListener
    {
        public List<string> Calls { get; } = [];

        public void PartitionsAssigned(IConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) =>
            Calls.Add("assigned " + string.Join(", ", partitions));

        public void PartitionsRevoked(IConsumer<byte[], byte[]> consumer, List<TopicPartitionOffset> partitions)
        {
            Calls.Add("revoked " + string.Join(", ", partitions));
            throw revocationFailure;
        }

        public void PartitionsLost(IConsumer<byte[], byte[]> consumer, List<TopicPartitionOffset> partitions) =>
            Calls.Add("lost " + string.Join(", ", partitions));
    }
}
