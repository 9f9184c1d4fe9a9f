using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Pipeline.Tests.ServiceDefaults;

public sealed class KafkaClientIntegrationTests : IDisposable
{
    private readonly LocalKafkaBroker _broker = LocalKafkaBroker.Start();

    public KafkaClientIntegrationTests()
    {
        _broker.CreateTopic(Topics.Events, partitions: 2);
    }

    public void Dispose() => _broker.Dispose();

    [Fact]
    public async Task ProducerTakesItsBrokerFromTheConnectionStringAndItsSettingsFromConfiguration()
    {
        using var host = BuildHost(new()
        {
            ["ConnectionStrings:kafka"] = _broker.BootstrapServers,
            ["Kafka:Producer:client.id"] = "configured-producer",
        }, builder => builder.AddKafkaProducer<string, string>());

        var producer = host.Services.GetRequiredService<RenewingKafkaProducer<string, string>>().Current;
        var delivered = await producer.ProduceAsync(Topics.Events, new Message<string, string> { Key = "k", Value = "v" });

        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        Assert.StartsWith("configured-producer", producer.Name);
    }

    [Fact]
    public void MissingConnectionStringFailsWithWhatToSet()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => BuildHost([], builder => builder.AddKafkaProducer<string, string>()));

        Assert.Contains("ConnectionStrings:kafka", failure.Message);
    }

    [Fact]
    public void ConsumerWithoutAGroupIdIsRefused()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => BuildHost(
            new() { ["ConnectionStrings:kafka"] = _broker.BootstrapServers },
            builder => builder.AddKafkaConsumer<string, string>()));

        Assert.Contains("group id", failure.Message);
    }

    [Fact]
    public async Task ClientHealthFollowsTheBroker()
    {
        using var host = BuildHost(new()
        {
            ["ConnectionStrings:kafka"] = _broker.BootstrapServers,
            ["Kafka:Consumer:group.id"] = "health-readers",
        }, builder => builder.AddKafkaConsumer<string, string>());
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var up = await health.CheckHealthAsync();
        _broker.TakeDown();
        var down = await health.CheckHealthAsync();
        _broker.BringUp();

        Assert.Equal(HealthStatus.Healthy, up.Entries["kafka-consumer"].Status);
        Assert.Equal(HealthStatus.Unhealthy, down.Entries["kafka-consumer"].Status);
    }

    [Fact]
    public async Task ProcessSpanContinuesTheTraceOfThePublishSpanThroughRecordHeaders()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KafkaTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = _broker.BootstrapServers }).Build();
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = _broker.BootstrapServers,
            GroupId = "trace-readers",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();

        using var request = new Activity("incoming request").Start();
        var delivered = await producer.ProduceTracedAsync(Topics.Events, new Message<string, string> { Key = "k", Value = "v" });
        request.Stop();

        consumer.Assign(delivered.TopicPartitionOffset);
        var consumed = consumer.Consume(TimeSpan.FromSeconds(20));
        using (consumed.StartProcessActivity("trace-readers"))
        {
        }

        var publish = Assert.Single(spans, s => s.DisplayName == $"send {Topics.Events}");
        var process = Assert.Single(spans, s => s.DisplayName == $"process {Topics.Events}");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(request.TraceId, publish.TraceId);
        Assert.Equal(publish.TraceId, process.TraceId);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal("kafka", process.GetTagItem("messaging.system"));
        Assert.Equal(Topics.Events, process.GetTagItem("messaging.destination.name"));
        Assert.Equal(delivered.Offset.Value, process.GetTagItem("messaging.kafka.offset"));
        Assert.Equal($"00-{publish.TraceId}-{publish.SpanId}-01",
            System.Text.Encoding.UTF8.GetString(consumed.Message.Headers.GetLastBytes("traceparent")));
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, Action<IHostApplicationBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddHealthChecks();
        configure(builder);
        return builder.Build();
    }
}
