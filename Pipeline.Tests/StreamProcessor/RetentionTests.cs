using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;
using Pipeline.Tests.Sink;
using Streamiz.Kafka.Net;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// The stream processor on the local broker past its retention (it keeps the newest 5 MiB of
/// each partition and compacts nothing): a position that fell below the log start is reported,
/// never skipped silently; state kept on disk survives a kill -9 after its changelogs lost their
/// head; and state that cannot be restored whole is refused, loudly.
/// </summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class RetentionTests
{
    private static readonly TimeSpan[] Windows = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];
    private static readonly TimeSpan HealthyWithin = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AProcessorWhosePositionFellBelowTheLogStartReportsTheLostRangeAndGoesOnFromTheLogStart()
    {
        using var pipeline = new LocalPipeline("behind-" + Guid.NewGuid().ToString("N")[..8]);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        using var meter = new Meter(StreamProcessorTelemetry.Name);
        using var lost = new MeasurementCounter(meter, "pipeline.stream_processor.records.lost");
        var logs = new CapturedLogs();
        var loss = new RecordLoss(meter, "pipeline.stream_processor", logs.CreateLogger("Pipeline.RecordLoss"));
        var now = DateTimeOffset.UtcNow;

        // A first processor counts ten events of one key and commits its position on their partition.
        pipeline.Produce(Enumerable.Range(0, 10).Select(i => new PipelineEvent($"first-{i}", "flood", 1, now)));
        using (var first = Start(pipeline, loss, StreamProcessorOptionsFor(pipeline)))
        {
            Assert.Equal(10, await Eventually.HoldsAsync(() => Task.FromResult(AllTimeCount(reader, "flood")), count => count == 10));
            Assert.Equal(10, (await Eventually.HoldsAsync(() => Task.FromResult(Committed(pipeline)), committed => committed.Values.Sum() == 10)).Values.Sum());
        }

        // While it is away, the broker drops the head of that partition: more than 5 MiB arrive.
        var partition = Committed(pipeline).Single(committed => committed.Value == 10).Key;
        var flood = Enumerable.Range(0, 30_000).Select(i => new PipelineEvent($"{i:D6}-{new string('f', 120)}", "flood", 1, now)).ToList();
        pipeline.Produce(flood);
        var (logStart, logEnd) = Watermarks(pipeline, new TopicPartition(Topics.Events, partition));
        Assert.True(logStart > 10, $"the flood did not push the log start past the committed offset (log start {logStart})");

        using var second = Start(pipeline, loss, StreamProcessorOptionsFor(pipeline));
        var counted = await Eventually.HoldsAsync(() => Task.FromResult(AllTimeCount(reader, "flood")), count => count == 10 + (logEnd - logStart), TimeSpan.FromSeconds(60));

        Assert.Equal(10 + (logEnd - logStart), counted);

        var report = Assert.Single(loss.Losses);
        Assert.Contains($"{Topics.Events}[{partition}] offsets 10 to {logStart - 1} ({logStart - 10} records)", report);
        Assert.Equal(logStart - 10, lost.Total);
        Assert.Equal(HealthStatus.Unhealthy, loss.ToHealth().Status);
        var critical = Assert.Single(logs.Entries, entry => entry.Level == LogLevel.Critical);
        Assert.Contains("RECORDS LOST", critical.Message);
        Assert.Contains($"{Topics.Events}[{partition}]", critical.Message);
    }

    [Fact]
    public async Task StateKeptOnDiskSurvivesAKillAfterItsChangelogsLostTheirHeadAndAStoreWithoutItIsRefused()
    {
        var applicationId = "kept-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var stateDirectory = Path.Combine(Path.GetTempPath(), "pipeline-tests-state-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string>
        {
            ["Aggregation__Grace"] = "1h",
            ["StreamProcessor__StateStore"] = "RocksDb",
            ["StreamProcessor__StateDirectory"] = stateDirectory,
        };
        var now = DateTimeOffset.UtcNow;
        var idle = Enumerable.Range(0, 40).Select(i => new PipelineEvent($"idle-{i}", $"idle-{i % 8}", i % 5, now)).ToList();
        var processes = new List<ProcessorProcess>();
        try
        {
            var first = Started(processes, "first", pipeline, settings);
            await first.WaitUntilHealthy(HealthyWithin);
            pipeline.Produce(idle);
            Assert.True(reader.WaitFor(pipeline.Truth(Windows), TimeSpan.FromSeconds(30)), "the first processor did not count the idle keys");
            first.KillNine();

            // Every changelog partition loses its head: nothing there holds the idle keys any more.
            PushHeadsOff(pipeline, StreamProcessorTopology.InternalTopics(applicationId));

            var second = Started(processes, "second", pipeline, settings);
            await second.WaitUntilHealthy(HealthyWithin);
            // New events for the idle keys, and every idle event sent again (same ids: counted once).
            pipeline.Produce(Enumerable.Range(0, 16).Select(i => new PipelineEvent($"later-{i}", $"idle-{i % 8}", 10 + i, now)).Concat(idle).ToList());
            var truth = pipeline.Truth(Windows);
            Assert.True(reader.WaitFor(truth, TimeSpan.FromSeconds(30)),
                "after the restart: " + string.Join(Environment.NewLine, reader.Differences(truth).Take(10)) + Environment.NewLine + second.Output);
            Assert.Empty(reader.Breaches);
            second.KillNine();

            // A processor without that directory cannot have the idle keys: it refuses to run.
            var empty = Started(processes, "empty", pipeline, new Dictionary<string, string>(settings)
            {
                ["StreamProcessor__StateDirectory"] = stateDirectory + "-empty",
            });
            var output = await Eventually.HoldsAsync(() => Task.FromResult(empty.Output), text => text.Contains("state restore incomplete", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Assert.Contains("RECORDS LOST", output);
            Assert.Contains("state restore incomplete", output);
            var (status, _) = await empty.Health(TimeSpan.Zero);
            Assert.NotEqual(System.Net.HttpStatusCode.OK, status);
        }
        finally
        {
            processes.ForEach(process => process.Dispose());
            foreach (var directory in new[] { stateDirectory, stateDirectory + "-empty" })
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }
    }

    [Fact]
    public async Task AnInMemoryStoreWhoseChangelogLostItsHeadIsRefusedLoudly()
    {
        var applicationId = "memory-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        using var meter = new Meter(StreamProcessorTelemetry.Name);
        using var lost = new MeasurementCounter(meter, "pipeline.stream_processor.records.lost");
        var loss = new RecordLoss(meter, "pipeline.stream_processor", NullLogger.Instance);
        var options = StreamProcessorOptionsFor(pipeline);
        pipeline.Produce(Enumerable.Range(0, 20).Select(i => new PipelineEvent($"m-{i}", $"m-{i % 4}", 1, DateTimeOffset.UtcNow)));
        using (var first = Start(pipeline, loss, options))
        {
            Assert.True(reader.WaitFor(pipeline.Truth(Windows), TimeSpan.FromSeconds(30)), "the first processor did not count the events");
        }

        Assert.Empty(loss.Losses);
        PushHeadsOff(pipeline, [StreamProcessorTopology.ChangelogTopic(applicationId, StreamProcessorTopology.AggregatesStore)]);

        using var second = Start(pipeline, loss, options);
        await Eventually.HoldsAsync(() => Task.FromResult(loss.Losses), losses => losses.Count > 0, TimeSpan.FromSeconds(30));

        Assert.All(loss.Losses, report => Assert.Contains("state restore incomplete", report));
        Assert.Contains(loss.Losses, report => report.Contains(StreamProcessorTopology.AggregatesStore + "-changelog", StringComparison.Ordinal));
        Assert.True(lost.Total > 0);
        Assert.Equal(HealthStatus.Unhealthy, loss.ToHealth().Status);
    }

    private static ProcessorProcess Started(List<ProcessorProcess> processes, string name, LocalPipeline pipeline, Dictionary<string, string> settings)
    {
        var process = ProcessorProcess.Start(name, pipeline.Broker.BootstrapServers, pipeline.ApplicationId, settings);
        processes.Add(process);
        return process;
    }

    private static StreamProcessorOptions StreamProcessorOptionsFor(LocalPipeline pipeline) => new() { ApplicationId = pipeline.ApplicationId };

    /// <summary>A started processor stream; disposing it closes the stream, then its watermark consumer (which would otherwise retry a gone broker for the rest of the run).</summary>
    private static IDisposable Start(LocalPipeline pipeline, RecordLoss loss, StreamProcessorOptions options)
    {
        var watermarks = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = pipeline.Broker.BootstrapServers,
            GroupId = "watermarks",
        }).Build();
        var blueprint = new AggregatorBlueprint(
            AggregationSettings.From(new AggregationOptions { Grace = "1h" }),
            new StreamProcessorMetrics(new Meter(StreamProcessorTelemetry.Name)),
            NullLogger.Instance,
            changelog => watermarks.QueryWatermarkOffsets(changelog, TimeSpan.FromSeconds(10)),
            loss);
        var stream = StreamConfiguration.CreateStream(blueprint, options, pipeline.Broker.BootstrapServers, NullLoggerFactory.Instance, logger: NullLogger.Instance);
        stream.StartAsync().GetAwaiter().GetResult();
        return new StreamAndWatermarks(stream, watermarks);
    }

    private sealed class StreamAndWatermarks(KafkaStream stream, IConsumer<byte[], byte[]> watermarks) : IDisposable
    {
        public void Dispose()
        {
            stream.Dispose();
            watermarks.Dispose();
        }
    }

    private static long AllTimeCount(AggregatesReader reader, string key)
    {
        reader.ReadFor(TimeSpan.FromMilliseconds(200));
        return reader.Latest.TryGetValue(new AggregateId(key, WindowNames.AllTime, WindowNames.AllTimeStart), out var totals) ? totals.Count : 0;
    }

    /// <summary>The processor group's committed offset per partition of the events topic that has one.</summary>
    private static Dictionary<int, long> Committed(LocalPipeline pipeline)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = pipeline.Broker.BootstrapServers,
            GroupId = pipeline.ApplicationId,
        }).Build();
        return consumer.Committed(Enumerable.Range(0, LocalPipeline.Partitions).Select(p => new TopicPartition(Topics.Events, p)), TimeSpan.FromSeconds(10))
            .Where(offset => !offset.Offset.IsSpecial)
            .ToDictionary(offset => offset.Partition.Value, offset => offset.Offset.Value);
    }

    private static (long Low, long High) Watermarks(LocalPipeline pipeline, TopicPartition partition)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = pipeline.Broker.BootstrapServers, GroupId = "watermarks" }).Build();
        var watermarks = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10));
        return (watermarks.Low.Value, watermarks.High.Value);
    }

    /// <summary>
    /// Writes more than the broker keeps into every partition of <paramref name="topics"/>, as a long
    /// run would: tombstones of keys no store holds, so what is left of the changelog changes nothing.
    /// </summary>
    private static void PushHeadsOff(LocalPipeline pipeline, IEnumerable<string> topics)
    {
        using var producer = new ProducerBuilder<byte[], byte[]?>(new ProducerConfig { BootstrapServers = pipeline.Broker.BootstrapServers, LingerMs = 5 }).Build();
        var records = (int)(LocalKafkaBroker.RetainedBytesPerPartition / 1024) + 500;
        foreach (var topic in topics)
        {
            for (var partition = 0; partition < LocalPipeline.Partitions; partition++)
            {
                for (var i = 0; i < records; i++)
                {
                    var key = Encoding.UTF8.GetBytes($"x{i:D8}{new string('x', 1015)}");
                    producer.Produce(new TopicPartition(topic, partition), new Message<byte[], byte[]?> { Key = key, Value = null });
                }
            }
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        foreach (var topic in topics)
        {
            for (var partition = 0; partition < LocalPipeline.Partitions; partition++)
            {
                Assert.True(Watermarks(pipeline, new TopicPartition(topic, partition)).Low > 0, $"{topic}[{partition}] kept its head");
            }
        }
    }
}
