using System.Diagnostics.Metrics;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;
using Streamiz.Kafka.Net;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>The real Streamiz application against the local Kafka broker, stopped and started again.</summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class RestartTests
{
    private static readonly TimeSpan[] Windows = [TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)];

    [Fact]
    public void AStreamStoppedMidwayAndStartedAgainCountsEveryEventExactlyOnce()
    {
        var applicationId = "restart-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var random = new Random(4);
        var now = DateTimeOffset.UtcNow;

        var first = Start(pipeline);
        pipeline.Produce(LocalPipeline.Events(random, 1500, keys: 40, now, pipeline.Sent));
        reader.ReadFor(TimeSpan.FromSeconds(1));
        first.Dispose();

        var second = Start(pipeline);
        pipeline.Produce(LocalPipeline.Events(random, 1500, keys: 40, now, pipeline.Sent));
        var settled = reader.WaitFor(pipeline.Truth(Windows), TimeSpan.FromSeconds(40));
        second.Dispose();

        Assert.True(settled, string.Join(Environment.NewLine, reader.Differences(pipeline.Truth(Windows)).Take(20)));
        Assert.Empty(reader.Breaches);
    }

    [Fact]
    public void EventsReadAgainAfterTheirStateWasStoredAreNotCountedAgain()
    {
        // The window a crash can open: state stored, offsets not yet committed. Rewinding the
        // group's offsets to the beginning recreates it for every event at once.
        var applicationId = "replay-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var random = new Random(5);
        var metrics = new StreamProcessorMetrics(new Meter(StreamProcessorTelemetry.Name));
        using var replayed = new MeasurementCounter(metrics.Meter, "pipeline.stream_processor.events.replayed");
        using var processed = new MeasurementCounter(metrics.Meter, "pipeline.stream_processor.records.processed");
        using var duplicates = new MeasurementCounter(metrics.Meter, "pipeline.stream_processor.events.duplicate");

        var first = Start(pipeline);
        pipeline.Produce(LocalPipeline.Events(random, 2000, keys: 30, DateTimeOffset.UtcNow, pipeline.Sent));
        Assert.True(reader.WaitFor(pipeline.Truth(Windows), TimeSpan.FromSeconds(30)), "The first run did not settle.");
        first.Dispose();
        var recordsBeforeReplay = reader.Records;

        RewindGroup(pipeline);
        var second = Start(pipeline, metrics: metrics);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (processed.Total < pipeline.Sent.Count && DateTime.UtcNow < deadline)
        {
            reader.ReadFor(TimeSpan.FromMilliseconds(200));
        }

        reader.ReadFor(TimeSpan.FromSeconds(1));
        second.Dispose();

        // Every distinct event is read again at or below its key's applied offset; a repeated id
        // is either that too or, after its key's last applied event, a duplicate.
        Assert.Equal(pipeline.Sent.Count, processed.Total);
        Assert.InRange(replayed.Total, pipeline.Sent.DistinctBy(e => (e.Key, e.Id)).Count(), pipeline.Sent.Count);
        Assert.Equal(pipeline.Sent.Count, replayed.Total + duplicates.Total);
        Assert.Empty(reader.Differences(pipeline.Truth(Windows)));
        Assert.Empty(reader.Breaches);
        Assert.True(reader.Records - recordsBeforeReplay <= reader.Latest.Count, "Replays must not produce new versions.");
    }

    [Fact]
    public async Task AQuietKeysLastWindowIsClosedByTheWallClockAfterARestartWithNoNewEvents()
    {
        var applicationId = "quiet-" + Guid.NewGuid().ToString("N")[..8];
        using var pipeline = new LocalPipeline(applicationId);
        using var reader = new AggregatesReader(pipeline.Broker.BootstrapServers);
        var shortWindows = new AggregationOptions { Windows = ["2s"], Grace = "1s" };
        var now = DateTimeOffset.UtcNow;
        // Events at the start of a 2 s window that ends at least 1.5 s from now.
        var windowStart = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds() / 2000 * 2000 + 2000);
        var random = new Random(3);
        var events = Enumerable.Range(0, 200)
            .Select(i => new PipelineEvent($"id-{i}", $"key-{random.Next(20)}", i % 7, windowStart.AddMilliseconds(random.Next(0, 1000))))
            .ToList();

        var first = Start(pipeline, options: shortWindows);
        pipeline.Produce(events);
        var open = events.GroupBy(e => e.Key).ToDictionary(
            group => new AggregateId(group.Key, "2s", windowStart),
            group => ((long)group.Count(), group.Sum(e => e.Value), group.Min(e => e.Value), group.Max(e => e.Value)));
        foreach (var key in open.Keys.ToList())
        {
            open[new AggregateId(key.Key, WindowNames.AllTime, WindowNames.AllTimeStart)] = open[key];
        }

        Assert.True(reader.WaitFor(open, TimeSpan.FromSeconds(20)), "The first run did not settle.");
        Assert.DoesNotContain(reader.Latest.Values, update => update.Final);
        first.Dispose();

        // The windows end while nothing runs; the restarted processor gets no new event at all.
        await Task.Delay(windowStart.AddSeconds(3) - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        var second = Start(pipeline, options: shortWindows);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline && reader.Latest.Values.Count(update => update.Final) < open.Keys.Count(id => id.Window == "2s"))
        {
            reader.ReadFor(TimeSpan.FromMilliseconds(200));
        }

        second.Dispose();

        var finals = reader.Latest.Values.Where(update => update.Final).ToList();
        Assert.Equal(open.Keys.Where(id => id.Window == "2s").OrderBy(id => id.Key), finals.Select(update => update.Id).OrderBy(id => id.Key));
        Assert.All(finals, final => Assert.Equal(open[final.Id], (final.Count, final.Sum, final.Min, final.Max)));
        Assert.Empty(reader.Breaches);
    }

    private static void RewindGroup(LocalPipeline pipeline)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = pipeline.Broker.BootstrapServers,
            GroupId = pipeline.ApplicationId,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
            SessionTimeoutMs = 6000,
        }).Build();
        // The broker takes commits from group members only: join, then commit. A short session
        // and the processor's assignor, so the processor's own join is not held up by this member.
        consumer.Subscribe(Topics.Events);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (consumer.Assignment.Count < LocalPipeline.Partitions && DateTime.UtcNow < deadline)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(100));
        }

        consumer.Commit(consumer.Assignment.Select(partition => new TopicPartitionOffset(partition, 0)));
        consumer.Close();
    }

    private static KafkaStream Start(LocalPipeline pipeline, StreamProcessorMetrics? metrics = null, AggregationOptions? options = null)
    {
        var blueprint = new AggregatorBlueprint(
            AggregationSettings.From(options ?? new AggregationOptions { Grace = "1h" }),
            metrics ?? new StreamProcessorMetrics(new Meter(StreamProcessorTelemetry.Name)),
            NullLogger.Instance);
        var stream = StreamConfiguration.CreateStream(
            blueprint, new StreamProcessorOptions { ApplicationId = pipeline.ApplicationId }, pipeline.Broker.BootstrapServers, NullLoggerFactory.Instance);
        stream.StartAsync().GetAwaiter().GetResult();
        return stream;
    }
}

/// <summary>Adds up one instrument's measurements from one meter.</summary>
internal sealed class MeasurementCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public MeasurementCounter(Meter meter, string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
