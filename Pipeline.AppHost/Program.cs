using Pipeline.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

var infrastructure = builder.AddPipelineInfrastructure();
var database = infrastructure.Database;

// Runs once, before anything touches the database; a failure keeps the services from starting.
var migrator = builder.AddProject<Projects.Pipeline_Migrator>("migrator")
    .WithReference(database)
    .WaitFor(database);

// Generated on first run and kept in the AppHost's user secrets; see README.md to read or set it.
var apiKey = builder.AddParameter("api-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

infrastructure.ConnectToKafka(builder.AddProject<Projects.Pipeline_Api>("api"))
    .WithReference(database)
    .WithEnvironment("Api__Keys__0", apiKey)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health");

infrastructure.ConnectToKafka(builder.AddProject<Projects.Pipeline_StreamProcessor>("stream-processor"))
    .WithEnvironment("StreamProcessor__ApplicationId", infrastructure.StreamProcessorApplicationId)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health");

infrastructure.ConnectToKafka(builder.AddProject<Projects.Pipeline_Sink>("sink"))
    .WithReference(database)
    .WaitForCompletion(migrator)
    .WithHttpHealthCheck("/health");

builder.Build().Run();
