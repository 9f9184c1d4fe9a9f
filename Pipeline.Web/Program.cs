using Pipeline.Web.Components;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPipelineWeb();

var app = builder.Build();

app.UsePipelineWeb();
app.MapDefaultEndpoints();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

app.Run();
