using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Pipeline.AppHost.Containers;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The <c>containers</c> app model, built but not started, with its endpoints allocated the way
/// the orchestrator allocates them (a host port behind each container port): every container's
/// environment is resolved from the container network (as the orchestrator resolves it) and
/// from the host, in run mode and in publish mode. The assertions on the Kafka resource carry
/// over those of upstream's tests (dotnet/aspire, tests/Aspire.Hosting.Kafka.Tests/AddKafkaTests.cs).
/// </summary>
public sealed class ContainersModeModelTests(ContainersModeModelTests.ContainersModel fixture) : IClassFixture<ContainersModeModelTests.ContainersModel>
{
    private const int KafkaHostPort = 35491;
    private const int KafkaInternalHostPort = 35492;
    private const int SchemaRegistryHostPort = 35495;
    private readonly DistributedApplicationModel _model = fixture.Model;
    private readonly DistributedApplicationExecutionContext _run = fixture.RunContext;

    [Fact]
    public void KafkaHasUpstreamsHostAndInternalEndpoints()
    {
        var kafka = Resource<ContainerResource>("kafka");

        var endpoints = kafka.Annotations.OfType<EndpointAnnotation>().ToList();
        Assert.Equal(2, endpoints.Count);
        foreach (var (name, targetPort) in new[] { ("tcp", 9092), ("internal", 9093) })
        {
            var endpoint = Assert.Single(endpoints, e => e.Name == name);
            Assert.Equal(targetPort, endpoint.TargetPort);
            Assert.False(endpoint.IsExternal);
            Assert.Null(endpoint.Port);
            Assert.Equal(ProtocolType.Tcp, endpoint.Protocol);
            Assert.Equal("tcp", endpoint.Transport);
            Assert.Equal("tcp", endpoint.UriScheme);
        }
    }

    [Fact]
    public void ImagesAreTheOnesUpstreamRunsToday()
    {
        var kafka = Assert.Single(Resource<ContainerResource>("kafka").Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(("docker.io", "confluentinc/confluent-local", "8.1.1"), (kafka.Registry, kafka.Image, kafka.Tag));

        var ui = Assert.Single(Resource<ContainerResource>("kafka-ui").Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(("docker.io", "kafbat/kafka-ui"), (ui.Registry, ui.Image));
        Assert.True(Version.Parse(ui.Tag!.TrimStart('v')) >= new Version(1, 4, 2), $"kafka-ui {ui.Tag} is older than v1.4.2");
    }

    [Fact]
    public void PostgresRunsTheImageOfTheAspirePackageThatAutoLooksFor()
    {
        var image = Assert.Single(Resource<ContainerResource>("postgres").Annotations.OfType<ContainerImageAnnotation>());

        Assert.Equal(ContainerImages.DefaultPostgres, new ContainerImage(image.Registry!, image.Image, image.Tag!));
    }

    [Fact]
    public async Task InRunModeTheBrokerAdvertisesTheHostPortTheServicesConnectTo()
    {
        var kafka = Resource<ContainerResource>("kafka");
        var asOrchestrated = await ResolvedEnvironment.AsOrchestratedAsync(kafka, _run);
        var fromHost = await ResolvedEnvironment.FromNetworkAsync(kafka, _run, ResolvedEnvironment.Host);

        foreach (var environment in new[] { asOrchestrated, fromHost })
        {
            Assert.Equal("PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093",
                environment["KAFKA_LISTENERS"]);
            Assert.Equal("CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,PLAINTEXT_INTERNAL:PLAINTEXT",
                environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]);
            Assert.Equal($"PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:{KafkaHostPort},PLAINTEXT_INTERNAL://kafka:9093",
                environment["KAFKA_ADVERTISED_LISTENERS"]);
        }

        foreach (var service in new[] { "api", "stream-processor", "sink" })
        {
            var connection = (await ResolvedEnvironment.FromNetworkAsync(Resource<ProjectResource>(service), _run, ResolvedEnvironment.Host))["ConnectionStrings__kafka"];
            Assert.Equal(Listener(asOrchestrated, "PLAINTEXT_HOST"), connection);
        }
    }

    [Fact]
    public async Task InRunModeKafkaUiIsGivenTheInternalListenerTheBrokerAdvertises()
    {
        var advertised = (await ResolvedEnvironment.AsOrchestratedAsync(Resource<ContainerResource>("kafka"), _run))["KAFKA_ADVERTISED_LISTENERS"];
        var ui = Resource<ContainerResource>("kafka-ui");

        foreach (var environment in new[] { await ResolvedEnvironment.AsOrchestratedAsync(ui, _run), await ResolvedEnvironment.FromNetworkAsync(ui, _run, ResolvedEnvironment.Host) })
        {
            Assert.Equal("kafka", environment["KAFKA_CLUSTERS_0_NAME"]);
            Assert.Equal(Listener(new() { ["KAFKA_ADVERTISED_LISTENERS"] = advertised }, "PLAINTEXT_INTERNAL"), environment["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]);
        }

        Assert.Contains(ui.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "kafka");
        Assert.Contains(ui.Annotations, annotation => annotation is ManifestPublishingCallbackAnnotation { Callback: null });
    }

    [Theory]
    [InlineData("kafka")]
    [InlineData("kafka-ui")]
    [InlineData("postgres")]
    [InlineData("schema-registry")]
    public async Task EveryContainerValueIsTheSameFromTheContainerNetworkAndFromTheHost(string container)
    {
        var resource = Resource<ContainerResource>(container);

        var asOrchestrated = await ResolvedEnvironment.AsOrchestratedAsync(resource, _run);
        var fromContainerNetwork = await ResolvedEnvironment.FromNetworkAsync(resource, _run, ResolvedEnvironment.ContainerNetwork);
        var fromHost = await ResolvedEnvironment.FromNetworkAsync(resource, _run, ResolvedEnvironment.Host);

        Assert.NotEmpty(asOrchestrated);
        Assert.Equal(asOrchestrated.OrderBy(p => p.Key), fromContainerNetwork.OrderBy(p => p.Key));
        Assert.Equal(fromHost.OrderBy(p => p.Key), fromContainerNetwork.OrderBy(p => p.Key));
    }

    [Fact]
    public async Task InPublishModeTheListenersAreTheBindingsAddresses()
    {
        var kafka = await ResolvedEnvironment.AsPublishedAsync(Resource<ContainerResource>("kafka"));
        var ui = await ResolvedEnvironment.AsPublishedAsync(Resource<ContainerResource>("kafka-ui"));

        Assert.Equal("PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093", kafka["KAFKA_LISTENERS"]);
        Assert.Equal("PLAINTEXT://{kafka.bindings.tcp.host}:29092,PLAINTEXT_HOST://{kafka.bindings.tcp.host}:{kafka.bindings.tcp.port},PLAINTEXT_INTERNAL://{kafka.bindings.internal.host}:{kafka.bindings.internal.port}",
            kafka["KAFKA_ADVERTISED_LISTENERS"]);
        Assert.Equal("{kafka.bindings.internal.host}:{kafka.bindings.internal.port}", ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]);
        Assert.Equal("{kafka.bindings.tcp.host}:{kafka.bindings.tcp.port}", ((IResourceWithConnectionString)Resource<ContainerResource>("kafka")).ConnectionStringExpression.ValueExpression);

        // The services are given what the host listener advertises; Kafka UI what the internal one does.
        var api = await ResolvedEnvironment.AsPublishedAsync(Resource<ProjectResource>("api"));
        Assert.Equal("{kafka.connectionString}", api["ConnectionStrings__kafka"]);
        Assert.Equal(((IResourceWithConnectionString)Resource<ContainerResource>("kafka")).ConnectionStringExpression.ValueExpression, Listener(kafka, "PLAINTEXT_HOST"));
        Assert.Equal(ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"], Listener(kafka, "PLAINTEXT_INTERNAL"));
    }

    [Fact]
    public async Task KafkaConnectionStringIsTheHostAddressOfThePrimaryEndpoint()
    {
        var kafka = Resource<IResourceWithConnectionString>("kafka");

        Assert.Equal($"localhost:{KafkaHostPort}", await kafka.GetConnectionStringAsync());
    }

    [Fact]
    public async Task EnvironmentCallbacksAreIdempotent()
    {
        foreach (var name in new[] { "kafka", "kafka-ui", "schema-registry" })
        {
            var resource = Resource<ContainerResource>(name);
            Assert.Equal(await ResolvedEnvironment.AsOrchestratedAsync(resource, _run), await ResolvedEnvironment.AsOrchestratedAsync(resource, _run));
        }
    }

    [Fact]
    public async Task DataVolumesAreNamedAfterThisAppSoTwoClonesDoNotShareData()
    {
        var configuration = fixture.Services.GetRequiredService<IConfiguration>();
        var prefix = $"pipeline.apphost-{configuration["AppHost:Sha256"]![..10].ToLowerInvariant()}";

        var kafkaVolume = Assert.Single(Resource<ContainerResource>("kafka").Annotations.OfType<ContainerMountAnnotation>());
        Assert.Equal(($"{prefix}-kafka-data", "/var/lib/kafka/data"), (kafkaVolume.Source, kafkaVolume.Target));
        Assert.Equal("/var/lib/kafka/data", (await ResolvedEnvironment.AsOrchestratedAsync(Resource<ContainerResource>("kafka"), _run))["KAFKA_LOG_DIRS"]);

        var postgresVolume = Assert.Single(Resource<ContainerResource>("postgres").Annotations.OfType<ContainerMountAnnotation>());
        Assert.Equal($"{prefix}-postgres-data", postgresVolume.Source);
    }

    [Fact]
    public void PostgresIsAContainerWithThePipelineDatabase()
    {
        var postgres = Resource<ContainerResource>("postgres");
        var database = Resource<IResourceWithConnectionString>("pipelinedb");

        Assert.Same(postgres, ((IResourceWithParent)database).Parent);
        Assert.Contains("pipelinedb", database.ConnectionStringExpression.ValueExpression);
    }

    [Fact]
    public void LocalOnlyResourcesAreAbsent()
    {
        Assert.DoesNotContain(_model.Resources, r => r.GetType().Name.StartsWith("Local", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("api", true)]
    [InlineData("stream-processor", false)]
    [InlineData("sink", true)]
    public async Task ServiceGetsBothConnectionStringsAndWaitsForKafkaAndTheMigrator(string service, bool usesDatabase)
    {
        var resource = Resource<ProjectResource>(service);

        var environment = await ResolvedEnvironment.AsPublishedAsync(resource);
        Assert.Equal("{kafka.connectionString}", environment["ConnectionStrings__kafka"]);
        Assert.Equal(usesDatabase, environment.ContainsKey("ConnectionStrings__pipelinedb"));

        var waits = resource.Annotations.OfType<WaitAnnotation>().ToList();
        Assert.Contains(waits, wait => wait.Resource.Name == "kafka" && wait.WaitType == WaitType.WaitUntilHealthy);
        Assert.Contains(waits, wait => wait.Resource.Name == "migrator" && wait.WaitType == WaitType.WaitForCompletion);
    }

    [Fact]
    public void SchemaRegistryIsConfluentsOfTheBrokersPlatformReleaseOn8081()
    {
        var registry = Resource<ContainerResource>("schema-registry");

        var image = Assert.Single(registry.Annotations.OfType<ContainerImageAnnotation>());
        var kafka = Assert.Single(Resource<ContainerResource>("kafka").Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(("docker.io", "confluentinc/cp-schema-registry", kafka.Tag), (image.Registry, image.Image, image.Tag));
        var endpoint = Assert.Single(registry.Annotations.OfType<EndpointAnnotation>());
        Assert.Equal(("http", 8081, "http"), (endpoint.Name, endpoint.TargetPort, endpoint.UriScheme));
        Assert.Contains(registry.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "kafka" && wait.WaitType == WaitType.WaitUntilHealthy);
        Assert.Contains(registry.Annotations.OfType<ResourceRelationshipAnnotation>(), parent => parent.Resource.Name == "kafka");
    }

    [Fact]
    public async Task InRunModeTheSchemaRegistryStoresItsSchemasThroughTheInternalListenerTheBrokerAdvertises()
    {
        var advertised = await ResolvedEnvironment.AsOrchestratedAsync(Resource<ContainerResource>("kafka"), _run);
        var environment = await ResolvedEnvironment.AsOrchestratedAsync(Resource<ContainerResource>("schema-registry"), _run);

        Assert.Equal("PLAINTEXT://" + Listener(advertised, "PLAINTEXT_INTERNAL"), environment["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]);
        Assert.Equal("PLAINTEXT://kafka:9093", environment["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]);
        Assert.Equal("http://0.0.0.0:8081", environment["SCHEMA_REGISTRY_LISTENERS"]);
        Assert.Equal("schema-registry", environment["SCHEMA_REGISTRY_HOST_NAME"]);
        Assert.Equal("backward", environment["SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL"]);
    }

    [Fact]
    public async Task KafkaUiShowsTheRegistryByItsNameOnTheContainerNetwork()
    {
        var ui = Resource<ContainerResource>("kafka-ui");

        foreach (var environment in new[] { await ResolvedEnvironment.AsOrchestratedAsync(ui, _run), await ResolvedEnvironment.FromNetworkAsync(ui, _run, ResolvedEnvironment.Host) })
        {
            Assert.Equal("http://schema-registry:8081", environment["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"]);
        }

        Assert.Equal("{schema-registry.bindings.http.url}", (await ResolvedEnvironment.AsPublishedAsync(ui))["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"]);
        Assert.Equal("PLAINTEXT://{kafka.bindings.internal.host}:{kafka.bindings.internal.port}",
            (await ResolvedEnvironment.AsPublishedAsync(Resource<ContainerResource>("schema-registry")))["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("stream-processor")]
    [InlineData("sink")]
    public async Task ServiceWritesAvroThroughTheRegistrysHostEndpointAndWaitsForItHealthy(string service)
    {
        var resource = Resource<ProjectResource>(service);

        var environment = await ResolvedEnvironment.FromNetworkAsync(resource, _run, ResolvedEnvironment.Host);
        Assert.Equal("Avro", environment["Kafka__RecordFormat"]);
        Assert.Equal($"http://localhost:{SchemaRegistryHostPort}", environment["ConnectionStrings__schema-registry"]);
        Assert.Contains(resource.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "schema-registry" && wait.WaitType == WaitType.WaitUntilHealthy);
    }

    [Fact]
    public async Task TheRegistrysHealthCheckAsksForSubjectsOnItsHttpEndpoint()
    {
        var key = Assert.Single(Resource<ContainerResource>("schema-registry").Annotations.OfType<HealthCheckAnnotation>()).Key;
        var health = fixture.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();

        // Nothing listens on the allocated port yet: unhealthy.
        Assert.NotEqual(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await health.CheckHealthAsync(check => check.Name == key)).Status);

        // Something that answers only GET /subjects (this repository's local registry, on the allocated port): healthy.
        await using var standIn = await Pipeline.Hosting.Local.Kafka.LocalSchemaRegistry.StartAsync(SchemaRegistryHostPort);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await health.CheckHealthAsync(check => check.Name == key)).Status);
    }

    [Fact]
    public async Task MigratorWaitsForTheDatabaseItMigrates()
    {
        var migrator = Resource<ProjectResource>("migrator");

        Assert.Contains(migrator.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "pipelinedb");
        Assert.Equal("{pipelinedb.connectionString}", (await ResolvedEnvironment.AsPublishedAsync(migrator))["ConnectionStrings__pipelinedb"]);
    }

    private T Resource<T>(string name) => Assert.IsAssignableFrom<T>(Assert.Single(_model.Resources, r => r.Name == name));

    // "host:port" of one listener in KAFKA_ADVERTISED_LISTENERS.
    private static string Listener(Dictionary<string, string> environment, string name) =>
        Assert.Single(environment["KAFKA_ADVERTISED_LISTENERS"].Split(','), l => l.StartsWith(name + "://", StringComparison.Ordinal))[(name.Length + 3)..];

    /// <summary>The containers-mode model, built once for all the tests of this class, its container endpoints allocated.</summary>
    public sealed class ContainersModel : IAsyncLifetime
    {
        private DistributedApplication? _app;

        public DistributedApplicationModel Model { get; private set; } = null!;

        public DistributedApplicationExecutionContext RunContext { get; private set; } = null!;

        public IServiceProvider Services => _app!.Services;

        public async Task InitializeAsync()
        {
            var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
                ["--Pipeline:Infrastructure=containers", $"--AppHostSha={Podman.ModelTestAppHostSha}"]);
            _app = await appHost.BuildAsync();
            Model = _app.Services.GetRequiredService<DistributedApplicationModel>();
            RunContext = _app.Services.GetRequiredService<DistributedApplicationExecutionContext>();

            var kafka = Model.Resources.Single(r => r.Name == "kafka");
            ResolvedEnvironment.Allocate(kafka, "tcp", KafkaHostPort, "kafka.dev.internal");
            ResolvedEnvironment.Allocate(kafka, "internal", KafkaInternalHostPort, "kafka.dev.internal");
            ResolvedEnvironment.Allocate(Model.Resources.Single(r => r.Name == "kafka-ui"), "http", 35493, "kafka-ui.dev.internal");
            ResolvedEnvironment.Allocate(Model.Resources.Single(r => r.Name == "postgres"), "tcp", 35494, "postgres.dev.internal");
            ResolvedEnvironment.Allocate(Model.Resources.Single(r => r.Name == "schema-registry"), "http", SchemaRegistryHostPort, "schema-registry.dev.internal");
        }

        public async Task DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }

            Podman.RemoveModelTestVolumes();
        }
    }
}
