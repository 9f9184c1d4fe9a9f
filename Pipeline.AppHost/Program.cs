using Microsoft.Extensions.Configuration;
using Pipeline.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

var infrastructure = builder.AddPipelineInfrastructure();

// Runs once, before anything touches the database; a failure keeps the services from starting.
// Not in the manifest, whose targets would restart it as a service: deployed as a job (README, Deploy).
var migrator = builder.AddProject<Projects.Pipeline_Migrator>("migrator")
    .WithDatabase(infrastructure)
    .WaitFor(infrastructure.Database)
    .ExcludeFromManifest();

// Generated on first run and kept in the AppHost's user secrets; see README.md to read or set it.
var apiKey = builder.AddParameter("api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

var api = builder.AddProject<Projects.Pipeline_Api>("api")
    .WithKafka(infrastructure)
    .WithBackpressure(infrastructure)
    .WithDatabase(infrastructure)
    .WithEnvironment("Api__Keys__0", apiKey)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health")
    .WithExternalHttpEndpoints();

// Instances share the events partitions through their consumer group; when one dies the others take over.
var processorInstances = builder.Configuration.GetValue("Pipeline:StreamProcessorInstances", 1);
builder.AddProject<Projects.Pipeline_StreamProcessor>("stream-processor")
    .WithKafka(infrastructure)
    .WithProcessorState(infrastructure)
    .WithReplicas(processorInstances)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health");

builder.AddProject<Projects.Pipeline_Sink>("sink")
    .WithKafka(infrastructure)
    .WithDatabase(infrastructure)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health");

// The live page of the aggregates: a client of the API like any other, its key kept server-side.
// Not published: the page has no sign-in of its own and acts with the API key, so anyone who
// reached it could read every aggregate and send events. A development and operator's aid.
builder.AddProject<Projects.Pipeline_Web>("web")
    .WithKafka(infrastructure)
    .WithReference(api)
    .WithEnvironment("PipelineApi__Key", apiKey)
    .WaitFor(api)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .ExcludeFromManifest();

// Not started with the rest: press Start on it in the dashboard to watch traffic flow
// through the pipeline; it then checks every aggregate it caused (--verify). A development
// tool, never deployed.
builder.AddProject<Projects.Pipeline_LoadGenerator>("load-generator")
    .WithReference(api)
    .WithEnvironment("PIPELINE_API_KEY", apiKey)
    .WithArgs("--rate", "200", "--duration", "60s", "--keys", "50", "--duplicates", "0.01", "--verify")
    .WaitFor(api)
    .WithExplicitStart()
    .ExcludeFromManifest();

builder.Build().Run();
