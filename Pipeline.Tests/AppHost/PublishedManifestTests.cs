using System.Text.Json.Nodes;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The deployment manifest, published the way a user publishes it
/// (<c>dotnet run --project Pipeline.AppHost -- --publisher manifest --output-path …</c>).
/// </summary>
public sealed class PublishedManifestTests(PublishedManifestTests.Manifests manifests) : IClassFixture<PublishedManifestTests.Manifests>
{
    private JsonObject Resources => manifests.Default["resources"]!.AsObject();

    [Fact]
    public void TheManifestDoesNotDependOnWhetherThePublishingMachineRunsContainers()
    {
        Assert.Equal(manifests.Default.ToJsonString(), manifests.WithoutContainerRuntime.ToJsonString());
    }

    [Fact]
    public void KafkaAndTheDatabaseAreSecretConnectionStringParametersOfTheDeployment()
    {
        foreach (var name in new[] { "kafka", "pipelinedb" })
        {
            var resource = Resources[name]!;
            Assert.Equal("parameter.v0", (string?)resource["type"]);
            Assert.Equal($"{{{name}.value}}", (string?)resource["connectionString"]);
            Assert.True((bool?)resource["inputs"]!["value"]!["secret"]);
        }

        Assert.DoesNotContain("setpriv", manifests.Default.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Resources, r => (string?)r.Value!["type"] is "executable.v0" or "container.v0" or "container.v1");
    }

    [Fact]
    public void OnlyTheThreeServicesAreDeployedAsServicesTheLoadGeneratorAndTheMigratorAreNot()
    {
        var services = Resources.Where(r => ((string?)r.Value!["type"])!.StartsWith("project", StringComparison.Ordinal)).Select(r => r.Key).Order();

        Assert.Equal(["api", "sink", "stream-processor"], services);
        Assert.False(Resources.ContainsKey("load-generator"));
        Assert.False(Resources.ContainsKey("migrator")); // a job: deploy/ and README, Deploy
    }

    [Fact]
    public void TheApiHasAnExternalHttpEndpointAndTheOtherServicesDoNot()
    {
        Assert.True((bool?)Resources["api"]!["bindings"]!["http"]!["external"]);
        foreach (var service in new[] { "stream-processor", "sink" })
        {
            Assert.All(Resources[service]!["bindings"]!.AsObject(), binding => Assert.NotEqual(true, (bool?)binding.Value!["external"]));
        }
    }

    [Fact]
    public void EveryServiceGetsItsConnectionStringsAndNoDevelopmentOnlySetting()
    {
        foreach (var service in new[] { "api", "stream-processor", "sink" })
        {
            var environment = Resources[service]!["env"]!.AsObject();
            Assert.Equal("{kafka.connectionString}", (string?)environment["ConnectionStrings__kafka"]);
            Assert.DoesNotContain(environment, variable => variable.Key.Contains("fetch.wait.max.ms", StringComparison.Ordinal));
            Assert.DoesNotContain(environment, variable => variable.Key.StartsWith("Kafka__Consumer__", StringComparison.Ordinal));
            Assert.DoesNotContain(environment, variable => ((string?)variable.Value)?.Contains("localhost", StringComparison.Ordinal) == true);
        }

        Assert.Equal("{pipelinedb.connectionString}", (string?)Resources["sink"]!["env"]!["ConnectionStrings__pipelinedb"]);
        Assert.Equal("{api-key.value}", (string?)Resources["api"]!["env"]!["Api__Keys__0"]);
    }

    [Fact]
    public void PublishedWithContainersKafkaAdvertisesItsBindingsAndKafkaUiIsLeftOut()
    {
        var resources = manifests.Containers["resources"]!.AsObject();
        var kafka = resources["kafka"]!;

        Assert.StartsWith("container.v", (string?)kafka["type"]);
        Assert.Equal("docker.io/confluentinc/confluent-local:8.1.1", (string?)kafka["image"]);
        Assert.Equal(
            "PLAINTEXT://{kafka.bindings.tcp.host}:29092,PLAINTEXT_HOST://{kafka.bindings.tcp.host}:{kafka.bindings.tcp.port},PLAINTEXT_INTERNAL://{kafka.bindings.internal.host}:{kafka.bindings.internal.port}",
            (string?)kafka["env"]!["KAFKA_ADVERTISED_LISTENERS"]);
        Assert.Equal("{kafka.bindings.tcp.host}:{kafka.bindings.tcp.port}", (string?)kafka["connectionString"]);
        // The same names whichever clone publishes (run mode names them after the clone).
        Assert.Equal(("kafka-data", "/var/lib/kafka/data"), ((string?)kafka["volumes"]![0]!["name"], (string?)kafka["volumes"]![0]!["target"]));
        Assert.Equal("postgres-data", (string?)resources["postgres"]!["volumes"]![0]!["name"]);
        Assert.False(resources.ContainsKey("kafka-ui"));
        Assert.False(resources.ContainsKey("load-generator"));
    }

    [Fact]
    public void TheLocalModeCannotBePublishedAndSaysWhy()
    {
        Assert.NotEqual(0, manifests.LocalExitCode);
        Assert.Contains("Pipeline:Infrastructure=local cannot be published", manifests.LocalOutput);
    }

    /// <summary>The manifests, published once for the class.</summary>
    public sealed class Manifests : IAsyncLifetime
    {
        public JsonNode Default { get; private set; } = null!;

        public JsonNode WithoutContainerRuntime { get; private set; } = null!;

        public JsonNode Containers { get; private set; } = null!;

        public int LocalExitCode { get; private set; }

        public string LocalOutput { get; private set; } = "";

        public async Task InitializeAsync()
        {
            // auto, where podman answers (CI installs it) and where no runtime does.
            Default = await PublishAsync([], ("ASPIRE_CONTAINER_RUNTIME", "podman"));
            WithoutContainerRuntime = await PublishAsync([], ("ASPIRE_CONTAINER_RUNTIME", "no-such-container-runtime"));
            Containers = await PublishAsync(["--Pipeline:Infrastructure=containers"]);
            (LocalExitCode, LocalOutput, _) = await RunPublisherAsync(["--Pipeline:Infrastructure=local"], []);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        internal static async Task<JsonNode> PublishAsync(string[] settings, params (string, string)[] environment)
        {
            var (exitCode, output, path) = await RunPublisherAsync(settings, environment);
            Assert.True(exitCode == 0, $"Publishing failed ({exitCode}):\n{output}");
            return JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        }

        private static async Task<(int ExitCode, string Output, string ManifestPath)> RunPublisherAsync(string[] settings, (string Name, string Value)[] environment)
        {
            var directory = Directory.CreateTempSubdirectory("pipeline-manifest-");
            var manifest = Path.Combine(directory.FullName, "aspire-manifest.json");
            var start = new ProcessStartInfo("dotnet",
                ["run", "--project", Projects.Pipeline_AppHost.ProjectPath, "--no-build", "--",
                 "--publisher", "manifest", "--output-path", manifest, .. settings])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var (name, value) in environment)
            {
                start.Environment[name] = value;
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output + await error, manifest);
        }
    }
}
