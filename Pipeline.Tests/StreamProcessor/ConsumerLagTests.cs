using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>The processor's consumer lag gauge, fed by the stream threads' consumers, against a local broker.</summary>
public sealed class ConsumerLagTests
{
    [Fact]
    public void AStreamThreadConsumerReportsTheRecordsOfItsPartitionItHasNotReadYetAndNothingOnceClosed()
    {
        using var broker = LocalKafkaBroker.Start();
        broker.CreateTopic(Topics.Events, 1);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build())
        {
            for (var i = 0; i < 10; i++)
            {
                producer.Produce(Topics.Events, new Message<byte[], byte[]> { Key = [(byte)i], Value = [(byte)i] });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        using var meter = new Meter("consumer-lag-test-" + Guid.NewGuid().ToString("N"));
        var metrics = new StreamProcessorMetrics(meter);
        var client = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "lag-group",
            EnableAutoCommit = false,
        }).Build();
        var consumer = new SteadyPollingConsumer(client, metrics.Lag, "lag-group", lagInterval: TimeSpan.Zero);
        consumer.Assign(new TopicPartitionOffset(Topics.Events, 0, Offset.Beginning));

        for (var read = 0; read < 3; read++)
        {
            Assert.NotNull(consumer.Consume(TimeSpan.FromSeconds(20)));
        }

        var lag = Assert.Single(ReadGauge(meter));
        Assert.Equal(7, lag.Value);
        Assert.Equal(Topics.Events, lag.Tags["messaging.destination.name"]);
        Assert.Equal("0", lag.Tags["messaging.destination.partition.id"]);
        Assert.Equal("lag-group", lag.Tags["messaging.consumer.group.name"]);

        consumer.Close();
        consumer.Dispose();
        Assert.Empty(ReadGauge(meter));
    }

    private static IReadOnlyList<CollectedMeasurement<long>> ReadGauge(Meter meter)
    {
        using var gauge = new MetricCollector<long>(meter, "pipeline.stream_processor.consumer.lag");
        gauge.RecordObservableInstruments();
        return gauge.GetMeasurementSnapshot();
    }
}
