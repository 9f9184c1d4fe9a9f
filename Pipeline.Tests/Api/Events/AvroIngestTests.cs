using Avro.Generic;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Pipeline.Tests.Api;
using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Events;

/// <summary>The API with <c>Kafka:RecordFormat=Avro</c>: what it writes, and what a client sees while the registry is out of reach.</summary>
public sealed class AvroIngestTests : IAsyncLifetime
{
    private LocalKafkaBroker _broker = null!;

    public Task InitializeAsync()
    {
        _broker = LocalKafkaBroker.Start();
        _broker.CreateTopic(Topics.Events, 1);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _broker.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task WithTheRegistryOutOfReachIngestAnswers503AndProducesNothingThenWritesAvroOnceItIsBack()
    {
        // A loopback port where nothing listens yet, and where the registry will start.
        var probe = await LocalSchemaRegistry.StartAsync();
        var port = new Uri(probe.Url).Port;
        await probe.DisposeAsync();

        await using var api = new IngestApiFactory(_broker.BootstrapServers, new Dictionary<string, string?>
        {
            ["Kafka:RecordFormat"] = "Avro",
            ["ConnectionStrings:schema-registry"] = $"http://127.0.0.1:{port}",
        });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", IngestApiFactory.ApiKey);

        using (var refused = await client.PostAsJsonAsync("/api/events", new { id = "e1", key = "k", value = 1.5 }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("schema-registry-unavailable", problem.GetProperty("code").GetString());
        }

        Assert.Equal(0, HighWatermark());

        await using var registry = await LocalSchemaRegistry.StartAsync(port);
        using (var accepted = await client.PostAsJsonAsync("/api/events", new { id = "e1", key = "k", value = 1.5 }))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = "avro-ingest-test" }).Build();
        consumer.Assign(new TopicPartitionOffset(Topics.Events, 0, 0));
        var record = consumer.Consume(TimeSpan.FromSeconds(30));
        using var registryClient = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url });
        var written = await new AvroDeserializer<GenericRecord>(registryClient).DeserializeAsync(record.Message.Value, false, SerializationContext.Empty);
        Assert.Equal(("e1", "k", 1.5), ((string)written["id"], (string)written["key"], (double)written["value"]));
        Assert.Equal(1, HighWatermark());
    }

    [Fact]
    public async Task ABurstOfRequestsWhileTheRegistryIsSlowToAnswerIsAllAcceptedOnceItAnswers()
    {
        // Seen in the end-to-end benchmark: 200 requests a second at start-up, each blocking a thread
        // on the schema's registration, starved the pool the registry's answer needed, and the API
        // stopped answering, its health check too. Here the registry holds its first answers back.
        await using var registry = await LocalSchemaRegistry.StartAsync();
        await using var slowRoute = GatedForwarder.Start(new Uri(registry.Url).Port);
        await using var api = new IngestApiFactory(_broker.BootstrapServers, new Dictionary<string, string?>
        {
            ["Kafka:RecordFormat"] = "Avro",
            ["ConnectionStrings:schema-registry"] = $"http://127.0.0.1:{slowRoute.Port}",
        });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", IngestApiFactory.ApiKey);
        client.Timeout = TimeSpan.FromSeconds(60);

        var requests = Enumerable.Range(0, 300)
            .Select(i => Task.Run(() => client.PostAsJsonAsync("/api/events", new { id = $"burst-{i}", key = $"k{i % 7}", value = i })))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(2));
        slowRoute.Open();
        var answered = await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(45));

        Assert.All(answered, response => Assert.Equal(HttpStatusCode.Accepted, response.StatusCode));
        Assert.Equal(300, HighWatermark());
    }

    private long HighWatermark()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = "watermarks" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(Topics.Events, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    /// <summary>A loopback TCP route to a port that holds every connection until it is opened.</summary>
    private sealed class GatedForwarder : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly int _target;
        private Task _accepting = Task.CompletedTask;

        private GatedForwarder(int target) => _target = target;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static GatedForwarder Start(int target)
        {
            var forwarder = new GatedForwarder(target);
            forwarder._listener.Start();
            forwarder._accepting = forwarder.AcceptAsync();
            return forwarder;
        }

        public void Open() => _open.TrySetResult();

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = ForwardAsync(client);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ForwardAsync(System.Net.Sockets.TcpClient client)
        {
            using (client)
            {
                try
                {
                    await _open.Task.WaitAsync(_stop.Token);
                    using var target = new System.Net.Sockets.TcpClient();
                    await target.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                    var inbound = client.GetStream().CopyToAsync(target.GetStream(), _stop.Token);
                    var outbound = target.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                    await Task.WhenAny(inbound, outbound);
                }
                catch (Exception exception) when (exception is OperationCanceledException or IOException or System.Net.Sockets.SocketException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
