using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// deploy/base, rendered as a user renders it (<c>kubectl kustomize deploy/base</c>), against what
/// the AppHost publishes: the same services, ports, environment keys and probes, the images the
/// projects build, and the migrator as a Job.
/// </summary>
public sealed class KubernetesManifestsTests(KubernetesManifestsTests.Rendered rendered) : IClassFixture<KubernetesManifestsTests.Rendered>
{
    private static readonly string[] Services = ["api", "sink", "stream-processor"];

    [Fact]
    public void TheDeploymentsAreTheServicesTheAppHostPublishes()
    {
        var published = rendered.Manifest["resources"]!.AsObject()
            .Where(r => ((string?)r.Value!["type"])!.StartsWith("project", StringComparison.Ordinal)).Select(r => r.Key).Order();

        Assert.Equal(Services, published);
        Assert.Equal(Services, rendered.OfKind("Deployment").Select(d => (string)d["metadata"]!["name"]!).Order());
    }

    [Theory]
    [InlineData("api")]
    [InlineData("stream-processor")]
    [InlineData("sink")]
    public void EachServiceHasThePublishedEnvironmentWithSecretsFromTheSecret(string service)
    {
        var published = rendered.Manifest["resources"]![service]!["env"]!.AsObject();
        var container = MainContainer(service);
        var environment = container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);

        Assert.Equal(published.Select(p => p.Key).Order(), environment.Keys.Order());
        foreach (var (key, value) in published)
        {
            var expression = (string)value!;
            if (expression.StartsWith('{'))
            {
                // {kafka.connectionString}, {pipelinedb.connectionString}, {api-key.value}: a key of the Secret,
                // except the port, which the container fixes.
                var reference = environment[key]["valueFrom"]?["secretKeyRef"];
                if (key == "HTTP_PORTS")
                {
                    Assert.Equal(Port(container).ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)environment[key]["value"]);
                    continue;
                }

                Assert.NotNull(reference);
                Assert.Equal("pipeline", (string?)reference["name"]);
                Assert.Equal(expression.Trim('{', '}').Split('.')[0], (string?)reference["key"]);
                Assert.True(rendered.SecretKeys.Contains((string)reference["key"]!), $"The Secret has no key {reference["key"]}");
            }
            else
            {
                Assert.Equal(expression, (string?)environment[key]["value"]);
            }
        }

        var kafkaSecurity = Assert.Single(container["envFrom"]!.AsArray());
        Assert.Equal(("pipeline-kafka-security", true), ((string?)kafkaSecurity!["secretRef"]!["name"], Bool(kafkaSecurity["secretRef"]!["optional"])));
    }

    [Theory]
    [InlineData("api")]
    [InlineData("stream-processor")]
    [InlineData("sink")]
    public void EachServiceIsProbedOnTheServiceDefaultsHealthEndpoints(string service)
    {
        var container = MainContainer(service);

        Assert.Equal(Extensions.HealthEndpointPath, (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal(Extensions.AlivenessEndpointPath, (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("http", (string?)container["readinessProbe"]!["httpGet"]!["port"]);
        Assert.Equal("http", (string?)container["livenessProbe"]!["httpGet"]!["port"]);
        Assert.Equal("http", (string?)Assert.Single(container["ports"]!.AsArray())!["name"]);
    }

    [Fact]
    public void OnlyTheApiIsExposedAsItsPublishedExternalEndpointSays()
    {
        var service = Assert.Single(rendered.OfKind("Service"));

        Assert.Equal("api", (string?)service["metadata"]!["name"]);
        Assert.Equal("http", (string?)service["spec"]!["ports"]![0]!["targetPort"]);
        Assert.True((bool?)rendered.Manifest["resources"]!["api"]!["bindings"]!["http"]!["external"]);
    }

    [Fact]
    public async Task TheMigratorIsAJobThatEveryServiceWaitsForWithTheAppHostsEnvironment()
    {
        var job = Assert.Single(rendered.OfKind("Job"));
        var spec = job["spec"]!["template"]!["spec"]!;
        var container = Assert.Single(spec["containers"]!.AsArray())!;

        Assert.Contains((string?)spec["restartPolicy"], new[] { "OnFailure", "Never" });
        Assert.Equal(ImageName("Pipeline.Migrator"), ((string)container["image"]!).Split(':')[0]);
        Assert.Equal((await rendered.PublishedMigratorEnvironmentKeysAsync()).Order(), container["env"]!.AsArray().Select(e => (string)e!["name"]!).Order());

        foreach (var service in Services)
        {
            var init = Assert.Single(Deployment(service)["spec"]!["template"]!["spec"]!["initContainers"]!.AsArray())!;
            Assert.Equal(((string)container["image"]!), (string?)init["image"]);
        }
    }

    [Theory]
    [InlineData("api", "Pipeline.Api")]
    [InlineData("stream-processor", "Pipeline.StreamProcessor")]
    [InlineData("sink", "Pipeline.Sink")]
    public void EachServiceRunsTheImageItsProjectBuildsAsANonRootUser(string service, string project)
    {
        var properties = rendered.ContainerProperties(project);

        Assert.Equal(properties["ContainerRepository"], ((string)MainContainer(service)["image"]!).Split(':')[0]);
        // Numeric, so that Kubernetes can check runAsNonRoot against it; not root.
        Assert.True(int.TryParse(properties["ContainerUser"], out var user) && user > 0, $"ContainerUser is '{properties["ContainerUser"]}'");
        Assert.True(Bool(Deployment(service)["spec"]!["template"]!["spec"]!["securityContext"]!["runAsNonRoot"]));
    }

    [Fact]
    public void TheProcessorHasNoMoreReplicasThanTheTopicsHavePartitions()
    {
        var replicas = Int(Deployment("stream-processor")["spec"]!["replicas"]);

        Assert.InRange(replicas, 1, global::Pipeline.AppHost.Infrastructure.PipelineInfrastructure.DefaultPartitions);
    }

    private JsonNode Deployment(string name) => Assert.Single(rendered.OfKind("Deployment"), d => (string?)d["metadata"]!["name"] == name);

    private JsonNode MainContainer(string service) =>
        Assert.Single(Deployment(service)["spec"]!["template"]!["spec"]!["containers"]!.AsArray(), c => (string?)c!["name"] == service)!;

    private static int Port(JsonNode container) => Int(container["ports"]![0]!["containerPort"]);

    // YAML scalars arrive as text.
    private static int Int(JsonNode? node) => int.Parse(node!.ToString(), System.Globalization.CultureInfo.InvariantCulture);

    private static bool Bool(JsonNode? node) => bool.Parse(node!.ToString());

    private string ImageName(string project) => rendered.ContainerProperties(project)["ContainerRepository"];

    /// <summary>deploy/base rendered once, and the manifest published once, for the class.</summary>
    public sealed class Rendered : IAsyncLifetime
    {
        // The folder holding Pipeline.sln, above the AppHost project.
        private static readonly string RepositoryRoot = FindRepositoryRoot(Projects.Pipeline_AppHost.ProjectPath);

        public IReadOnlyList<JsonNode> Documents { get; private set; } = [];

        public JsonNode Manifest { get; private set; } = null!;

        public IReadOnlySet<string> SecretKeys { get; private set; } = new HashSet<string>();

        public IEnumerable<JsonNode> OfKind(string kind) => Documents.Where(d => (string?)d["kind"] == kind);

        public async Task InitializeAsync()
        {
            var (exitCode, yaml, error) = Run("kubectl", ["kustomize", Path.Combine(RepositoryRoot, "deploy", "base")]);
            Assert.True(exitCode == 0, $"kubectl kustomize deploy/base failed ({exitCode}); Debian's kubectl package provides kubectl: {error}");

            var deserializer = new DeserializerBuilder().Build();
            var json = new SerializerBuilder().JsonCompatible().Build();
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            var documents = new List<JsonNode>();
            while (parser.Accept<DocumentStart>(out _))
            {
                documents.Add(JsonNode.Parse(json.Serialize(deserializer.Deserialize(parser)))!);
            }

            Documents = documents;
            SecretKeys = OfKind("Secret").Single()["stringData"]!.AsObject().Select(p => p.Key).ToHashSet();
            Manifest = await PublishedManifestTests.Manifests.PublishAsync([]);
        }

        public Task DisposeAsync() => Task.CompletedTask;

        /// <summary>
        /// The environment keys the AppHost would publish for the migrator (which the manifest leaves
        /// out, being a job): its model's, less those the publisher leaves out of every service.
        /// </summary>
        public async Task<IEnumerable<string>> PublishedMigratorEnvironmentKeysAsync()
        {
            var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(["--Pipeline:Infrastructure=external"]);
            await using var app = await appHost.BuildAsync();
            var resources = app.Services.GetRequiredService<DistributedApplicationModel>().Resources;
            var apiInModel = (await ResolvedEnvironment.AsPublishedAsync(resources.Single(r => r.Name == "api"))).Keys;
            var apiPublished = Manifest["resources"]!["api"]!["env"]!.AsObject().Select(p => p.Key);
            var leftOut = apiInModel.Except(apiPublished).ToHashSet();
            return (await ResolvedEnvironment.AsPublishedAsync(resources.Single(r => r.Name == "migrator"))).Keys.Where(key => !leftOut.Contains(key));
        }

        /// <summary>A project's SDK container settings, as MSBuild evaluates them.</summary>
        public Dictionary<string, string> ContainerProperties(string project)
        {
            var (exitCode, output, error) = Run("dotnet",
                ["msbuild", Path.Combine(RepositoryRoot, project, $"{project}.csproj"), "-getProperty:ContainerRepository", "-getProperty:ContainerUser"]);
            Assert.True(exitCode == 0, error);
            return JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(output)!["Properties"];
        }

        private static string FindRepositoryRoot(string start)
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Pipeline.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException($"No Pipeline.sln above {start}.");
        }

        private static (int ExitCode, string Output, string Error) Run(string command, string[] arguments)
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, output.Result, error.Result);
        }
    }
}
