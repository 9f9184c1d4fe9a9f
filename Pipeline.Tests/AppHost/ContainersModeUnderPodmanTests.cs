using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Pipeline.Migrator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The AppHost in <c>containers</c> mode under a real orchestrator run, with podman as the
/// container runtime and the images <c>.ci/test-images</c> builds: PostgreSQL is real (the
/// database is created and the migrator applies its scripts); Kafka and Kafka UI are a
/// stand-in that only answers a line on 9092 and 9093 (no Kafka image can be built here), so
/// what is checked of them is what the orchestrator gave them, read with <c>podman inspect</c>,
/// and that the advertised listeners lead to the broker's container.
/// </summary>
public sealed class ContainersModeUnderPodmanTests(ContainersModeUnderPodmanTests.ContainersApp fixture)
    : IClassFixture<ContainersModeUnderPodmanTests.ContainersApp>
{
    [PodmanFact]
    public async Task PostgresIsRealTheDatabaseIsCreatedAndTheMigratorAppliedEveryScript()
    {
        Assert.Equal(0, fixture.MigratorExitCode);

        var connectionString = await fixture.ConnectionStringAsync("pipelinedb");
        Assert.Empty(DatabaseMigrations.Pending(connectionString!));
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var tables = new NpgsqlCommand(
            "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('aggregate_totals', 'window_aggregates')", connection);
        Assert.Equal(2L, await tables.ExecuteScalarAsync());
        await using var version = new NpgsqlCommand("SHOW server_version", connection);
        Assert.StartsWith("15.", (string)(await version.ExecuteScalarAsync())!);
    }

    [PodmanFact]
    public async Task TheBrokerAdvertisesOnItsHostListenerThePortTheServicesAreGivenAndItLeadsToTheBroker()
    {
        var environment = Podman.EnvironmentOf(fixture.Kafka);
        var hostListener = Listener(environment["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT_HOST");
        var servicesConnectTo = await fixture.ConnectionStringAsync("kafka");

        Assert.Equal(servicesConnectTo, hostListener);
        Assert.NotEqual("localhost:9092", hostListener);

        // A client that follows the advertised listener reaches the broker container's port 9092.
        var port = int.Parse(hostListener.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("kafka-stand-in 9092", await ReadLineAsync("127.0.0.1", port));
    }

    [PodmanFact]
    public void KafkaUiIsGivenTheInternalListenerAndItLeadsToTheBrokerOverTheContainerNetwork()
    {
        var internalListener = Listener(Podman.EnvironmentOf(fixture.Kafka)["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT_INTERNAL");
        var ui = Podman.EnvironmentOf(fixture.KafkaUi);

        Assert.Equal("kafka", ui["KAFKA_CLUSTERS_0_NAME"]);
        Assert.Equal(internalListener, ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]);

        var (host, port) = (internalListener.Split(':')[0], internalListener.Split(':')[1]);
        var answer = Podman.Exec(fixture.KafkaUiId, "bash", "-c", $"exec 3<>/dev/tcp/{host}/{port} && head -n 1 <&3");
        Assert.Equal("kafka-stand-in 9093", answer.Trim());
    }

    [PodmanFact]
    public async Task TheSchemaRegistryStoresThroughTheInternalListenerWhichLeadsToTheBrokerAndServicesAreGivenItsPublishedPort()
    {
        var internalListener = Listener(Podman.EnvironmentOf(fixture.Kafka)["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT_INTERNAL");
        var registry = Podman.EnvironmentOf(fixture.SchemaRegistry);

        Assert.Equal("PLAINTEXT://" + internalListener, registry["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]);
        Assert.Equal("http://0.0.0.0:8081", registry["SCHEMA_REGISTRY_LISTENERS"]);
        var (host, port) = (internalListener.Split(':')[0], internalListener.Split(':')[1]);
        Assert.Equal("kafka-stand-in 9093", Podman.Exec(fixture.SchemaRegistryId, "bash", "-c", $"exec 3<>/dev/tcp/{host}/{port} && head -n 1 <&3").Trim());

        // The services' URL is the registry's http endpoint on the host, which the orchestrator proxies to
        // the port podman publishes for the container's 8081. (The stand-in does not listen on 8081, so
        // reaching it through that path is not checked here.)
        var url = new Uri((await fixture.ConnectionStringAsync("schema-registry"))!);
        var endpoint = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "schema-registry")
            .Annotations.OfType<EndpointAnnotation>().Single();
        Assert.Equal((8081, url.Port), (endpoint.TargetPort!.Value, endpoint.AllocatedEndpoint!.Port));
        Assert.Equal("http", url.Scheme);
        Assert.True(fixture.SchemaRegistry.GetProperty("NetworkSettings").GetProperty("Ports").TryGetProperty("8081/tcp", out _), "podman publishes no port for 8081");
        Assert.Equal("http://schema-registry:8081", Podman.EnvironmentOf(fixture.KafkaUi)["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"]);
    }

    [PodmanFact]
    public void DataVolumesAreThisAppsOwnAndTheContainersShareTheSessionNetwork()
    {
        var prefix = $"pipeline.apphost-{fixture.AppHostSha[..10].ToLowerInvariant()}";

        Assert.Contains(Mounts(fixture.Kafka), mount => mount == ($"{prefix}-kafka-data", "/var/lib/kafka/data"));
        Assert.Contains(Mounts(fixture.Postgres), mount => mount.Name == $"{prefix}-postgres-data");

        var networks = new[] { fixture.Kafka, fixture.KafkaUi, fixture.Postgres, fixture.SchemaRegistry }
            .Select(container => container.GetProperty("NetworkSettings").GetProperty("Networks").EnumerateObject().Select(n => n.Name).ToHashSet())
            .ToList();
        var shared = networks.Aggregate((a, b) => [.. a.Intersect(b)]);
        Assert.Contains(shared, name => name.StartsWith("aspire-session-network", StringComparison.Ordinal));
    }

    [PodmanFact]
    public void NoServiceStartsAgainstABrokerThatDoesNotAnswer()
    {
        foreach (var service in PipelineAppFixture.Services)
        {
            Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState(service, out var state), $"{service} has no state");
            Assert.Equal(KnownResourceStates.Waiting, state.Snapshot.State?.Text);
        }
    }

    private static IEnumerable<(string Name, string Destination)> Mounts(JsonElement container) =>
        container.GetProperty("Mounts").EnumerateArray()
            .Where(mount => mount.GetProperty("Type").GetString() == "volume")
            .Select(mount => (mount.GetProperty("Name").GetString()!, mount.GetProperty("Destination").GetString()!));

    private static string Listener(string advertised, string name) =>
        Assert.Single(advertised.Split(','), l => l.StartsWith(name + "://", StringComparison.Ordinal))[(name.Length + 3)..];

    private static async Task<string?> ReadLineAsync(string host, int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(host, port, timeout.Token);
        using var reader = new StreamReader(client.GetStream());
        return await reader.ReadLineAsync(timeout.Token);
    }

    /// <summary>The AppHost started once in containers mode under podman, until the migrator has finished.</summary>
    public sealed class ContainersApp : IAsyncLifetime
    {
        private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
        private static readonly string TestAppHostSha = Convert.ToHexString(
            System.Security.Cryptography.SHA256.HashData("pipeline containers-mode test"u8));

        // Upstream's volume naming: {application}-{AppHost:Sha256[..10]}-{resource}-{suffix}.
        private static readonly string VolumePrefix = $"pipeline.apphost-{TestAppHostSha[..10].ToLowerInvariant()}-";
        private DistributedApplication? _app;
        private readonly CancellationTokenSource _stopping = new();
        private Task? _starting;

        public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started: " + Podman.WhyUnusable);

        public int? MigratorExitCode { get; private set; }

        public string AppHostSha { get; private set; } = "";

        public JsonElement Kafka { get; private set; }

        public JsonElement KafkaUi { get; private set; }

        public string KafkaUiId { get; private set; } = "";

        public JsonElement Postgres { get; private set; }

        public JsonElement SchemaRegistry { get; private set; }

        public string SchemaRegistryId { get; private set; } = "";

        public async Task InitializeAsync()
        {
            if (Podman.WhyUnusable is not null)
            {
                return; // every fact is skipped with the reason
            }

            foreach (var image in new[] { Podman.PostgresImage, Podman.KafkaStandInImage })
            {
                Assert.True(Podman.ImageExists(image), $"podman has no image {image}: run .ci/test-images to build it.");
            }

            // The test's own volumes, apart from a developer's containers-mode runs of this clone, and fresh:
            // a volume left by an interrupted run would hold another password.
            foreach (var volume in Volumes().Where(v => v.StartsWith(VolumePrefix, StringComparison.Ordinal)))
            {
                Podman.Run(["volume", "rm", "--force", volume], TimeSpan.FromSeconds(30));
            }

            using var cancellation = new CancellationTokenSource(StartTimeout);
            var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
            [
                "--Pipeline:Infrastructure=containers",
                // Names this run's volumes apart from those of a developer's runs (Aspire's hook for tests).
                $"--AppHostSha={TestAppHostSha}",
                "--DcpPublisher:ContainerRuntime=podman",
                $"--Pipeline:Containers:KafkaImage={Podman.KafkaStandInImage}",
                $"--Pipeline:Containers:KafkaUiImage={Podman.KafkaStandInImage}",
                // No Schema Registry image can be built here either: the stand-in runs in its place (never healthy).
                $"--Pipeline:Containers:SchemaRegistryImage={Podman.KafkaStandInImage}",
                $"--Pipeline:Containers:PostgresImage={Podman.PostgresImage}",
                $"--Parameters:api-key={PipelineAppFixture.ApiKey}",
                // Fixed, because the data volume outlives the run and keeps the first password.
                "--Parameters:postgres-password=containers-test-password-4d1b",
            ],
            (options, _) => options.DisableDashboard = true,
            cancellation.Token);
            appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Pipeline", LogLevel.Information));
            AppHostSha = appHost.Configuration["AppHost:Sha256"]!;

            // Kafka UI and the Schema Registry wait for a healthy broker, which the stand-in never is; their environment is what is checked.
            foreach (var waiting in appHost.Resources.Where(r => r.Name is "kafka-ui" or "schema-registry"))
            {
                foreach (var wait in waiting.Annotations.OfType<WaitAnnotation>().ToList())
                {
                    waiting.Annotations.Remove(wait);
                }
            }

            _app = await appHost.BuildAsync(cancellation.Token);

            // Not awaited: start-up only completes once every service is created, and the services wait
            // for a healthy broker, which the stand-in never is. The resources' states are followed instead.
            _starting = _app.StartAsync(_stopping.Token);

            var migrator = await _app.ResourceNotifications.WaitForResourceAsync("migrator",
                e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text), cancellation.Token);
            MigratorExitCode = migrator.Snapshot.ExitCode;

            Kafka = Podman.Inspect(await ContainerIdAsync("kafka", cancellation.Token));
            KafkaUiId = await ContainerIdAsync("kafka-ui", cancellation.Token);
            KafkaUi = Podman.Inspect(KafkaUiId);
            Postgres = Podman.Inspect(await ContainerIdAsync("postgres", cancellation.Token));
            SchemaRegistryId = await ContainerIdAsync("schema-registry", cancellation.Token);
            SchemaRegistry = Podman.Inspect(SchemaRegistryId);
        }

        public async Task DisposeAsync()
        {
            if (_app is null)
            {
                return;
            }

            await _stopping.CancelAsync();
            await (_starting ?? Task.CompletedTask).ContinueWith(_ => { }, TaskScheduler.Default);
            await _app.DisposeAsync();
            _stopping.Dispose();

            foreach (var volume in Volumes().Where(v => v.StartsWith(VolumePrefix, StringComparison.Ordinal)))
            {
                Podman.Run(["volume", "rm", "--force", volume], TimeSpan.FromSeconds(30));
            }
        }

        /// <summary>A connection string as the services are given it (the app is still starting, so the testing helpers refuse).</summary>
        public async Task<string?> ConnectionStringAsync(string resource) =>
            await App.Services.GetRequiredService<DistributedApplicationModel>().Resources
                .OfType<IResourceWithConnectionString>().Single(r => r.Name == resource).GetConnectionStringAsync();

        private async Task<string> ContainerIdAsync(string resource, CancellationToken cancellationToken)
        {
            var running = await App.ResourceNotifications.WaitForResourceAsync(resource,
                e => e.Snapshot.State?.Text == KnownResourceStates.Running
                    && e.Snapshot.Properties.Any(p => p.Name == "container.id" && p.Value is string { Length: > 0 }),
                cancellationToken);
            return (string)running.Snapshot.Properties.First(p => p.Name == "container.id").Value!;
        }

        private static HashSet<string> Volumes() =>
            [.. Podman.Run(["volume", "ls", "--format", "{{.Name}}"], TimeSpan.FromSeconds(30)).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}
