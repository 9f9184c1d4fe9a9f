using Confluent.Kafka;

namespace Pipeline.Bench;

/// <summary>The Kafka clients the processor benchmarks drive the processor with, set up one way.</summary>
internal static class BenchClients
{
    /// <summary>An idempotent producer of events that batches (20 ms linger), as a busy API would.</summary>
    public static IProducer<byte[], byte[]> EventProducer(string bootstrapServers) =>
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 20,
        }).Build();

    /// <summary>A reader of every aggregate from the start, committing nothing.</summary>
    public static IConsumer<byte[], byte[]> AggregatesReader(string bootstrapServers) =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "bench-aggregates-reader",
            // The local broker holds every fetch this long even when records are waiting.
            FetchWaitMaxMs = 10,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
}
