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

    /// <summary>
    /// Produces an event, waiting while librdkafka's queue is full: a warmed-up benchmark hands
    /// records over faster than the local broker takes them.
    /// </summary>
    public static void ProduceEvent(IProducer<byte[], byte[]> producer, Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(Pipeline.Contracts.Topics.Events, message);
                return;
            }
            catch (ProduceException<byte[], byte[]> exception) when (exception.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }

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
