using Pipeline.Api.Status;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers what <c>GET /api/status</c> reads.</summary>
public static class StatusExtensions
{
    /// <summary>Starts listening to the API's own ingest and backlog instruments, which <c>GET /api/status</c> reports.</summary>
    public static IHostApplicationBuilder AddPipelineStatus(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IngestRate>();
        builder.Services.AddHostedService(services => services.GetRequiredService<IngestRate>());
        builder.Services.AddSingleton<BacklogReading>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BacklogReading>());
        return builder;
    }
}
