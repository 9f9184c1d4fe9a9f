using Pipeline.Api.Aggregates;
using Pipeline.Api.Events;
using Pipeline.Api.Http;
using Pipeline.Api.Status;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddBackgroundHealthReport();
builder.AddApiPlatform();
builder.AddEventIngest();
builder.AddAggregateQueries();
builder.AddPipelineStatus();

var app = builder.Build();

app.UseApiPlatform();
app.MapDefaultEndpoints();
app.MapApiDocumentation();

var api = app.MapApiGroup();
api.MapEventsApi();
api.MapAggregatesApi();
api.MapStatusApi();

app.Run();
