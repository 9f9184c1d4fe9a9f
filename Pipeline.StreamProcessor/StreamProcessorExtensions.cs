using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.ServiceDefaults.Options;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Pipeline.StreamProcessor.Telemetry;

namespace Pipeline.StreamProcessor;

/// <summary>Registers the stream processor: its options, the worker that runs Streamiz, telemetry and health.</summary>
internal static class StreamProcessorExtensions
{
    public static IHostApplicationBuilder AddStreamProcessor(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<AggregationOptions, AggregationOptionsValidator>(AggregationOptions.SectionName);
        builder.Services.AddValidatedOptions<StreamProcessorOptions, StreamProcessorOptionsValidator>(StreamProcessorOptions.SectionName)
            .ValidateWith<StreamProcessorOptions, StreamProcessorFitValidator>();

        builder.Services.AddSingleton(services => new StreamProcessorMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.AddSingleton<StreamProcessorStatus>();
        builder.AddPipelineRecordFormat();
        builder.Services.AddSingleton(services => new DedupeBudget(
            () => services.GetRequiredService<IOptions<AggregationOptions>>().Value.DedupeMaxIds,
            () => AggregationSettings.From(services.GetRequiredService<IOptions<AggregationOptions>>().Value).DedupeWindow,
            services.GetRequiredService<StreamProcessorMetrics>().Meter,
            services.GetRequiredService<ILogger<DedupeBudget>>()));
        builder.AddRecordLoss(StreamProcessorTelemetry.Name, "pipeline.stream_processor");
        builder.Services.AddHostedService<StreamProcessorWorker>();
        builder.Services.AddSingleton(services => services.GetRequiredService<StreamProcessorMetrics>().Activity);
        builder.Services.AddSingleton<StreamThreadStall>();
        builder.Services.AddHostedService<StreamThreadStallWatchdog>();
        builder.Services.AddHealthChecks().AddCheck<StreamProcessorHealthCheck>("stream-processor", tags: ["ready"]);
        builder.Services.AddHealthChecks().AddCheck<StreamThreadStallHealthCheck>("stream-thread-stall", tags: ["ready"]);
        builder.Services.AddHealthChecks().AddCheck<DedupeWindowHealthCheck>("dedupe-window", tags: ["ready"]);
        // Degraded (starting, rebalancing) is not ready either: /health answers 503 for it, as for Unhealthy.
        builder.Services.Configure<HealthCheckOptions>(health =>
            health.ResultStatusCodes[HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable);

        return builder;
    }
}
