using Pipeline.Api.Aggregates;
using Pipeline.Hosting.Local.Postgres;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// <c>Pipeline:Infrastructure=external</c>: the AppHost provisions nothing and wires every service
/// to the connection strings it is given. Here they name a Kafka-protocol broker and a PostgreSQL
/// started by the test, apart from the AppHost, as an operator's cluster would be.
/// </summary>
public sealed class ExternalModeTests
{
    [Fact]
    public async Task AnEventPostedThroughAnExistingClusterAndDatabaseIsServedBack()
    {
        using var broker = LocalKafkaBroker.Start(groupInitialRebalanceDelay: TimeSpan.Zero);
        foreach (var topic in Topics.All.Concat(StreamProcessorTopology.InternalTopics(StreamProcessorTopology.DefaultApplicationId)))
        {
            broker.CreateTopic(topic, 4);
        }

        await using var postgres = await LocalPostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("pipelinedb");
        await using var registry = await LocalSchemaRegistry.StartAsync();

        using var cancellation = new CancellationTokenSource(PipelineAppFixture.StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
        [
            "--Pipeline:Infrastructure=external",
            $"--ConnectionStrings:kafka={broker.BootstrapServers}",
            $"--ConnectionStrings:pipelinedb={postgres.ConnectionString("pipelinedb")}",
            $"--ConnectionStrings:schema-registry={registry.Url}",
            $"--Parameters:api-key={PipelineAppFixture.ApiKey}",
        ],
        (options, _) => options.DisableDashboard = true,
        cancellation.Token);
        appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Pipeline", LogLevel.Information));

        var model = appHost.Resources;
        Assert.DoesNotContain(model, r => r is ContainerResource || r.GetType().Name.StartsWith("Local", StringComparison.Ordinal));
        Assert.IsAssignableFrom<ParameterResource>(Assert.Single(model, r => r.Name == "kafka"));
        Assert.IsAssignableFrom<ParameterResource>(Assert.Single(model, r => r.Name == "pipelinedb"));
        Assert.IsAssignableFrom<ParameterResource>(Assert.Single(model, r => r.Name == ConnectionNames.SchemaRegistry));

        await using var app = await appHost.BuildAsync(cancellation.Token);
        await app.StartAsync(cancellation.Token);
        foreach (var service in PipelineAppFixture.Services)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service, cancellation.Token);
        }

        using var api = app.CreateHttpClient("api");
        api.DefaultRequestHeaders.Add("X-Api-Key", PipelineAppFixture.ApiKey);
        var key = $"external-{Guid.NewGuid():N}";
        using (var posted = await api.PostAsJsonAsync("/api/events", new { key, value = 21.5 }, cancellation.Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        AggregateTotals? totals = null;
        while (totals is not { Count: 1 })
        {
            await Task.Delay(200, cancellation.Token);
            using var response = await api.GetAsync($"/api/aggregates/{key}", cancellation.Token);
            totals = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<AggregateTotals>(cancellation.Token) : null;
        }

        Assert.Equal(21.5, totals.Sum);
        // The services registered their schemas in the registry they were given.
        using var http = new HttpClient();
        Assert.Equal("""["aggregates-key","aggregates-value","events-value"]""", await http.GetStringAsync(registry.Url + "/subjects", cancellation.Token));
    }

    [Fact]
    public async Task AChangelogThatDoesNotFitKeepsTheServicesWaitingWithAnErrorNamingIt()
    {
        using var broker = LocalKafkaBroker.Start();
        foreach (var topic in Topics.All)
        {
            broker.CreateTopic(topic, 4);
        }

        var changelog = StreamProcessorTopology.ChangelogTopic(StreamProcessorTopology.DefaultApplicationId, StreamProcessorTopology.AggregatesStore);
        broker.CreateTopic(changelog, 1);
        broker.CreateTopic(StreamProcessorTopology.ChangelogTopic(StreamProcessorTopology.DefaultApplicationId, StreamProcessorTopology.EventIdsStore), 4);

        using var cancellation = new CancellationTokenSource(PipelineAppFixture.StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
        [
            "--Pipeline:Infrastructure=external",
            $"--ConnectionStrings:kafka={broker.BootstrapServers}",
            "--ConnectionStrings:pipelinedb=Host=127.0.0.1;Port=1;Database=pipelinedb",
        ],
        (options, _) => options.DisableDashboard = true,
        cancellation.Token);
        await using var app = await appHost.BuildAsync(cancellation.Token);

        // Not awaited: start-up completes only once the services are created, and they wait for the cluster to fit.
        using var stopping = new CancellationTokenSource();
        var starting = app.StartAsync(stopping.Token);
        var kafka = await app.ResourceNotifications.WaitForResourceAsync("kafka",
            e => e.Snapshot.HealthReports.Any(r => r.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy && r.Description is not null),
            cancellation.Token);

        var report = kafka.Snapshot.HealthReports.First(r => r.Description is not null).Description!;
        Assert.Contains($"'{changelog}' has 1 partitions but 'events' has 4", report);
        await app.ResourceNotifications.WaitForResourceAsync("stream-processor", KnownResourceStates.Waiting, cancellation.Token);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellation.Token);
        Assert.True(app.ResourceNotifications.TryGetCurrentState("stream-processor", out var processor));
        Assert.Equal(KnownResourceStates.Waiting, processor.Snapshot.State?.Text);

        await stopping.CancelAsync();
        await starting.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Fact]
    public async Task EveryServiceIsGivenTheSameSecuritySettingsWithTheSecretsAsSecretParameters()
    {
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pipeline_AppHost>(
        [
            "--Pipeline:Infrastructure=external",
            "--ConnectionStrings:kafka=broker.example:9092",
            "--ConnectionStrings:pipelinedb=Host=db.example;Database=pipelinedb",
            "--Kafka:Security:security.protocol=SASL_SSL",
            "--Kafka:Security:sasl.mechanism=SCRAM-SHA-512",
            "--Kafka:Security:sasl.username=pipeline",
            "--Kafka:Security:sasl.password=not-a-real-secret",
            "--ConnectionStrings:schema-registry=https://registry.example:8081",
            "--Kafka:SchemaRegistry:BasicAuthUserInfo=pipeline:not-a-real-registry-secret",
        ]);
        await using var app = await appHost.BuildAsync();
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();

        foreach (var service in PipelineAppFixture.Services)
        {
            var values = new Dictionary<string, object>();
            var resource = model.Resources.Single(r => r.Name == service);
            var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run), resource, values, CancellationToken.None);
            foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
            {
                await callback.Callback(context);
            }

            Assert.Equal("SASL_SSL", values["Kafka__Security__security.protocol"]);
            Assert.Equal("SCRAM-SHA-512", values["Kafka__Security__sasl.mechanism"]);
            Assert.Equal("pipeline", values["Kafka__Security__sasl.username"]);
            var password = Assert.IsType<ParameterResource>(values["Kafka__Security__sasl.password"]);
            Assert.True(password.Secret);
            Assert.Equal("not-a-real-secret", await password.GetValueAsync(CancellationToken.None));

            Assert.Equal("Avro", values["Kafka__RecordFormat"]);
            var registry = Assert.IsType<ConnectionStringReference>(values["ConnectionStrings__schema-registry"]);
            Assert.Equal(ConnectionNames.SchemaRegistry, registry.Resource.Name);
            Assert.Equal("https://registry.example:8081", await registry.Resource.GetConnectionStringAsync());
            var registryAuth = Assert.IsType<ParameterResource>(values["Kafka__SchemaRegistry__BasicAuthUserInfo"]);
            Assert.True(registryAuth.Secret);
            Assert.Equal("pipeline:not-a-real-registry-secret", await registryAuth.GetValueAsync(CancellationToken.None));
        }
    }
}
