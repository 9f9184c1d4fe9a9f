using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The <c>containers</c> app model, built but not started (no container engine runs here):
/// what a machine with Docker would get.
/// </summary>
public sealed class ContainersModeModelTests(ContainersModeModelTests.ContainersModel fixture) : IClassFixture<ContainersModeModelTests.ContainersModel>
{
    private readonly DistributedApplicationModel _model = fixture.Model;

    [Fact]
    public async Task KafkaIsAConfluentLocalContainerWithHostAndInternalListeners()
    {
        var kafka = Resource<ContainerResource>("kafka");

        var image = Assert.Single(kafka.Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(("docker.io", "confluentinc/confluent-local"), (image.Registry, image.Image));
        Assert.StartsWith("8.1.", image.Tag);

        var endpoints = kafka.Annotations.OfType<EndpointAnnotation>().ToDictionary(e => e.Name, e => e.TargetPort);
        Assert.Equal(9092, endpoints["tcp"]);
        Assert.Equal(9093, endpoints["internal"]);

        var environment = await EnvironmentOf(kafka);
        Assert.Equal("PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093",
            environment["KAFKA_LISTENERS"]);
        Assert.Contains("PLAINTEXT_INTERNAL://kafka:9093", environment["KAFKA_ADVERTISED_LISTENERS"]);
        Assert.Contains("PLAINTEXT_HOST://localhost:{kafka.bindings.tcp.port}", environment["KAFKA_ADVERTISED_LISTENERS"]);
        Assert.Equal("/var/lib/kafka/data", environment["KAFKA_LOG_DIRS"]);

        var volume = Assert.Single(kafka.Annotations.OfType<ContainerMountAnnotation>());
        Assert.Equal(("pipeline-kafka-data", "/var/lib/kafka/data"), (volume.Source, volume.Target));
        Assert.Equal("{kafka.bindings.tcp.host}:{kafka.bindings.tcp.port}", ((IResourceWithConnectionString)kafka).ConnectionStringExpression.ValueExpression);
    }

    [Fact]
    public async Task KafkaUiIsKafbatWiredToTheInternalListenerAndWaitsForKafka()
    {
        var ui = Resource<ContainerResource>("kafka-ui");

        var image = Assert.Single(ui.Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(("docker.io", "kafbat/kafka-ui"), (image.Registry, image.Image));
        Assert.Equal(8080, Assert.Single(ui.Annotations.OfType<EndpointAnnotation>()).TargetPort);

        var environment = await EnvironmentOf(ui);
        Assert.Equal("kafka", environment["KAFKA_CLUSTERS_0_NAME"]);
        Assert.Equal("kafka:9093", environment["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]);
        Assert.Contains(ui.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "kafka");
    }

    [Fact]
    public void PostgresIsAContainerWithADataVolumeAndThePipelineDatabase()
    {
        var postgres = Resource<ContainerResource>("postgres");
        var database = Resource<IResourceWithConnectionString>("pipelinedb");

        Assert.Contains("postgres", Assert.Single(postgres.Annotations.OfType<ContainerImageAnnotation>()).Image);
        Assert.Contains(postgres.Annotations.OfType<ContainerMountAnnotation>(), mount => mount.Source == "pipeline-postgres-data");
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

        var environment = await EnvironmentOf(resource);
        Assert.Equal("{kafka.connectionString}", environment["ConnectionStrings__kafka"]);
        Assert.Equal(usesDatabase, environment.ContainsKey("ConnectionStrings__pipelinedb"));

        var waits = resource.Annotations.OfType<WaitAnnotation>().ToList();
        Assert.Contains(waits, wait => wait.Resource.Name == "kafka" && wait.WaitType == WaitType.WaitUntilHealthy);
        Assert.Contains(waits, wait => wait.Resource.Name == "migrator" && wait.WaitType == WaitType.WaitForCompletion);
    }

    [Fact]
    public async Task MigratorWaitsForTheDatabaseItMigrates()
    {
        var migrator = Resource<ProjectResource>("migrator");

        Assert.Contains(migrator.Annotations.OfType<WaitAnnotation>(), wait => wait.Resource.Name == "pipelinedb");
        Assert.Equal("{pipelinedb.connectionString}", (await EnvironmentOf(migrator))["ConnectionStrings__pipelinedb"]);
    }

    private T Resource<T>(string name) => Assert.IsAssignableFrom<T>(Assert.Single(_model.Resources, r => r.Name == name));

    // The environment as the manifest would state it: literal values, and references as {resource.property}.
    private static async Task<Dictionary<string, string>> EnvironmentOf(IResource resource)
    {
        var values = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Publish), values);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return values.ToDictionary(pair => pair.Key, pair => pair.Value switch
        {
            string text => text,
            IManifestExpressionProvider expression => expression.ValueExpression,
            var other => other.ToString() ?? "",
        });
    }

    /// <summary>The containers-mode model, built once for all the tests of this class.</summary>
    public sealed class ContainersModel : IAsyncLifetime
    {
        private DistributedApplication? _app;

        public DistributedApplicationModel Model { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
                ["--Pipeline:Infrastructure=containers"]);
            _app = await appHost.BuildAsync();
            Model = _app.Services.GetRequiredService<DistributedApplicationModel>();
        }

        public async Task DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }
        }
    }
}
