using Pipeline.Sink;

// Consumes the `aggregates` topic and upserts what it reads into PostgreSQL; prunes old windows.
var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddAggregateSink();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
