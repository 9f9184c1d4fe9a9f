using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.FluentUI.AspNetCore.Components;
using OpenTelemetry.Instrumentation.AspNetCore;
using Pipeline.ServiceDefaults.Options;
using Pipeline.Web;
using Pipeline.Web.Api;
using Pipeline.Web.DeadLetters;
using Pipeline.Web.Live;
using Radzen;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers the live page: its API client, the live feeds it shows, and the Blazor components.</summary>
public static class WebExtensions
{
    public static IHostApplicationBuilder AddPipelineWeb(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<PipelineApiOptions, PipelineApiOptionsValidator>(PipelineApiOptions.SectionName);
        builder.Services.TryAddSingleton(TimeProvider.System);

        // The key travels only in this server's requests to the API: the browser talks to this app alone.
        // ServiceDefaults gives every client a standard resilience handler (retries for up to 30 s);
        // these two go without it (the only way to remove it is still marked experimental).
#pragma warning disable EXTEXP0001
        builder.Services.AddHttpClient<PipelineApiClient>(PipelineApiClient.Configure)
            .RemoveAllResilienceHandlers(); // the page retries on its own schedule and shows it; see PipelineConnection
        builder.Services.AddHttpClient(AggregateStreamWorker.HttpClientName, PipelineApiClient.ConfigureStream)
            .RemoveAllResilienceHandlers(); // a stream stays open for hours: no total timeout, no retry of a live response
#pragma warning restore EXTEXP0001

        builder.Services.AddSingleton<PipelineConnection>();
        builder.Services.AddHostedService<AggregateStreamWorker>();
        builder.Services.AddHostedService<StatusPoller>();

        builder.Services.AddSingleton<RecentDeadLetters>();
        builder.AddKafkaConsumer<byte[]?, byte[]?>(configure: consumer =>
        {
            // Each instance reads the latest dead letters itself (assigned, not subscribed) and commits nothing.
            consumer.GroupId = "pipeline-web";
            consumer.EnableAutoCommit = false;
            consumer.ClientId = "pipeline-web-dead-letters";
        });
        builder.Services.AddHostedService<DeadLetterWorker>();

        // The circuit's WebSocket lives as long as the page, and static files are not what a trace is for.
        builder.Services.Configure<AspNetCoreTraceInstrumentationOptions>(tracing =>
        {
            var defaults = tracing.Filter;
            tracing.Filter = context => !IsPagePlumbing(context.Request.Path) && (defaults?.Invoke(context) ?? true);
        });

        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddFluentUIComponents();
        builder.Services.AddRadzenComponents();
        return builder;
    }

    private static bool IsPagePlumbing(PathString path) =>
        path.StartsWithSegments("/_blazor") || path.StartsWithSegments("/_framework") || path.StartsWithSegments("/_content")
        || Path.HasExtension(path.Value);

    public static WebApplication UsePipelineWeb(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }

        app.UseAntiforgery();
        app.MapStaticAssets();
        return app;
    }
}
