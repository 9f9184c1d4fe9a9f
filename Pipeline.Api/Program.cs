var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAggregateQueries();
var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGroup("/api").MapAggregatesApi();
app.Run();
