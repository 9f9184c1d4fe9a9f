using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.Sink;
using Pipeline.Tests.StreamProcessor;
using static Pipeline.Tests.Sink.Aggregates;

namespace Pipeline.Tests.Sink;

/// <summary>
/// The sink on the local broker past its retention: updates the broker dropped before the sink read
/// them are reported (range, metric, Unhealthy), never skipped silently, and what is left is stored.
/// </summary>
public sealed class SinkRetentionTests(SinkDatabase database) : IClassFixture<SinkDatabase>
{
    [Fact]
    public async Task ASinkWhosePositionFellBelowTheLogStartReportsTheLostRangeAndStoresWhatIsLeft()
    {
        using var kafka = new SinkKafka();
        using var lost = new MeasurementCounter(kafka.LossMeter, "pipeline.sink.records.lost");
        var partition = new TopicPartition(Topics.Aggregates, 0);
        var options = SinkKafka.Options(batchSize: 500);

        // A first sink stores ten updates of one partition and commits its position.
        await ProduceToAsync(kafka, partition, Enumerable.Range(1, 10).Select(version => Totals("kept-a", version)));
        var (first, _) = kafka.CreateWorker(new PostgresAggregateWriter(database.DataSource), options);
        await first.StartAsync(default);
        var committed = await Eventually.HoldsAsync(() => Task.FromResult(kafka.CommittedOffsets(options.ConsumerGroup)[0]), offset => offset == 10);
        await first.StopAsync(default);
        Assert.Equal(10, committed);

        // While it is away, more than the broker keeps of the partition arrives.
        var flood = Enumerable.Range(0, 9_000).Select(i => Totals($"flood-{i:D5}-{new string('f', 240)}", 1)).ToList();
        await ProduceToAsync(kafka, partition, flood);
        var (logStart, logEnd) = Watermarks(kafka, partition);
        Assert.True(logStart > 10, $"the flood did not push the log start past the committed offset (log start {logStart})");

        var (second, status) = kafka.CreateWorker(new PostgresAggregateWriter(database.DataSource), options);
        await second.StartAsync(default);
        var stored = await Eventually.HoldsAsync(() => Task.FromResult(kafka.CommittedOffsets(options.ConsumerGroup)[0]), offset => offset == logEnd, TimeSpan.FromSeconds(60));
        await second.StopAsync(default);

        Assert.Equal(logEnd, stored);
        var report = Assert.Single(kafka.Loss.Losses);
        Assert.Contains($"{Topics.Aggregates}[0] offsets 10 to {logStart - 1} ({logStart - 10} records)", report);
        Assert.Equal(logStart - 10, lost.Total);
        Assert.Equal(HealthStatus.Unhealthy, kafka.Loss.ToHealth().Status);
        // What was left after the log start is stored; what was dropped never reached the database.
        var rows = await database.ReadAllAsync("flood-");
        Assert.Equal(logEnd - logStart, rows.Count);
    }

    private static async Task ProduceToAsync(SinkKafka kafka, TopicPartition partition, IEnumerable<AggregateRecord> states)
    {
        foreach (var state in states)
        {
            kafka.Producer.Produce(partition, new Message<byte[]?, byte[]?> { Key = PipelineJson.Serialize(state.Id), Value = PipelineJson.Serialize(state) });
        }

        await Task.Run(() => kafka.Producer.Flush(TimeSpan.FromSeconds(60)));
    }

    private static (long Low, long High) Watermarks(SinkKafka kafka, TopicPartition partition)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.Broker.BootstrapServers, GroupId = "watermarks" }).Build();
        var watermarks = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10));
        return (watermarks.Low.Value, watermarks.High.Value);
    }
}
