// The processor's events/s as the number of distinct keys grows: the same number of events over
// 1k, 100k and 1M keys, each size on a fresh local broker and a fresh processor. Every event has
// its own id. With 1M keys most keys are new when their event comes, so the key-state cache
// (KeyStates.MaxCachedKeys) and the stores are at their largest.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Contracts;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;

namespace Pipeline.Bench.Processor;

internal static class GrowthPhase
{
    private const string ApplicationId = "bench-growth";

    /// <summary>
    /// Enough partitions that the local broker keeps every event: it holds 5 MiB per partition, and
    /// a million events of about 140 bytes would overflow 8.
    /// </summary>
    private const int Partitions = 40;

    public static double Run(int events, int keys)
    {
        using var broker = LocalKafkaBroker.Start();
        foreach (var topic in Topics.All.Concat(StreamProcessorTopology.InternalTopics(ApplicationId)))
        {
            broker.CreateTopic(topic, Partitions);
        }

        Produce(broker.BootstrapServers, events, keys);
        using var meter = new Meter(StreamProcessorTelemetry.Name);
        var metrics = new StreamProcessorMetrics(meter);
        using var clock = new ProcessedClock(meter, events);

        var blueprint = new AggregatorBlueprint(AggregationSettings.From(new AggregationOptions { Grace = "1h" }), metrics, NullLogger.Instance);
        using var stream = StreamConfiguration.CreateStream(
            blueprint, new StreamProcessorOptions { ApplicationId = ApplicationId }, broker.BootstrapServers, NullLoggerFactory.Instance);
        stream.StartAsync().GetAwaiter().GetResult();
        if (!clock.Wait(TimeSpan.FromMinutes(10)))
        {
            throw new TimeoutException($"The processor handled {clock.Processed:N0} of {events:N0} events in 10 minutes.");
        }

        return events / clock.FirstToLast.TotalSeconds;
    }

    private static void Produce(string bootstrapServers, int events, int keys)
    {
        using var producer = BenchClients.EventProducer(bootstrapServers);
        var random = new Random(42);
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < events; i++)
        {
            // Every key once before any key twice, in a shuffled order.
            var key = $"key-{(i < keys ? (int)((i * 2654435761L) % keys) : random.Next(keys))}";
            var next = new PipelineEvent(Guid.NewGuid().ToString("N"), key, random.Next(-1000, 1000) / 8.0, now.AddMilliseconds(random.Next(-60_000, 60_000)));
            BenchClients.ProduceEvent(producer, new Message<byte[], byte[]>
            {
                Key = Encoding.UTF8.GetBytes(next.Key),
                Value = PipelineJson.Serialize(next),
                Timestamp = new Timestamp(next.Timestamp),
            });
        }

        producer.Flush(TimeSpan.FromMinutes(2));
    }
}
