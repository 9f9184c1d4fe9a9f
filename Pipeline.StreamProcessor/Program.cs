using Pipeline.StreamProcessor;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddStreamProcessor();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
