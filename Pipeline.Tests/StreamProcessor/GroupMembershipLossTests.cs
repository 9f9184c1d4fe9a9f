using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.StreamProcessor.Hosting;
using Streamiz.Kafka.Net.Kafka;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// The group coordinator forgets the processor's member while the processor is at work, as it does
/// after a broker outage longer than the session or a missed rebalance: the next heartbeat is
/// answered UnknownMemberId and the client reports its partitions lost. The processor must close its
/// tasks without committing, rejoin, and go on, with every event counted once. Streamiz 1.8 hands a
/// lost assignment to its revocation handler, whose commit then fails and leaves the stream thread
/// waiting for a rebalance that has ended: it never polls again (seen after a 3 s outage of the
/// AppHost's broker).
/// </summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class GroupMembershipLossTests
{
    private const short HeartbeatApiKey = 12;

    private static readonly TimeSpan[] Windows = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];

    [Fact]
    public async Task AProcessorItsGroupForgetsWhileAtWorkRejoinsAndCountsEveryEventOnce()
    {
        using var pipeline = new LocalPipeline("forgotten-" + Guid.NewGuid().ToString("N")[..8]);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        using var process = ProcessorProcess.Start("forgotten", pipeline.Broker.BootstrapServers, pipeline.ApplicationId, new Dictionary<string, string>
        {
            ["Aggregation__Grace"] = "1h",
            ["StreamProcessor__StallLimit"] = "5s",
        });
        await process.WaitUntilHealthy(TimeSpan.FromSeconds(60));
        var random = new Random(11);
        pipeline.Produce(LocalPipeline.Events(random, 20_000, keys: 300, DateTimeOffset.UtcNow, []).ToList());

        // The next heartbeat (every third of the 6 s session) is answered UnknownMemberId; events keep
        // arriving meanwhile, so that the processor holds offsets it has not committed when it hears.
        pipeline.Broker.FailNextRequests(HeartbeatApiKey, ErrorCode.UnknownMemberId);
        var lost = process.PrintsAsync("lost its partitions", TimeSpan.FromSeconds(20));
        while (!lost.IsCompleted)
        {
            pipeline.Produce(LocalPipeline.Events(random, 2_000, keys: 300, DateTimeOffset.UtcNow, pipeline.Sent).ToList());
            await Task.Delay(200);
        }

        pipeline.Produce(LocalPipeline.Events(random, 5_000, keys: 300, DateTimeOffset.UtcNow, pipeline.Sent).ToList());
        var truth = pipeline.Truth(Windows);
        var settled = reader.WaitFor(truth, TimeSpan.FromSeconds(90));
        var stalled = process.Output.Contains("STALLED", StringComparison.Ordinal);

        Assert.True(await lost, $"the processor did not say it lost its partitions\n{process.Output}");
        Assert.True(settled, $"{reader.Records} aggregate records read; differences:\n{string.Join("\n", reader.Differences(truth).Take(15))}\n{process.Output}");
        Assert.False(stalled, $"a stream thread stalled after the group forgot it\n{process.Output}");
        Assert.True(reader.Breaches.Count == 0, string.Join("\n", reader.Breaches.Take(20)));
    }

    [Fact]
    public void ARevocationThatFailsClosesTheTasksAsLostBeforeItsFailureGoesOnToStreamiz()
    {
        var inner = new RecordingListener(new InvalidOperationException("Broker: Unknown member"));
        var listener = new LostPartitionsListener(inner, NullLogger.Instance);
        List<TopicPartitionOffset> partitions = [new(new TopicPartition("events", 0), 42)];

        var thrown = Assert.Throws<InvalidOperationException>(() => listener.PartitionsRevoked(null!, partitions));

        Assert.Equal("Broker: Unknown member", thrown.Message);
        Assert.Equal(["revoked events [[0]] @42", "lost events [[0]] @42"], inner.Calls);
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
