using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Pipeline.ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The defaults every Pipeline service starts from: OpenTelemetry to the Aspire dashboard,
/// health checks, service discovery and HTTP resilience.
/// </summary>
public static class Extensions
{
    /// <summary>Liveness plus readiness: every registered health check.</summary>
    public const string HealthEndpointPath = "/health";

    /// <summary>Liveness only: the checks tagged <see cref="LiveTag"/>.</summary>
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>The tag of the checks that say the process itself is alive.</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// Every Pipeline service names its ActivitySource and Meter with this prefix, so one
    /// wildcard registration exports them all.
    /// </summary>
    public const string TelemetryPrefix = "Pipeline.";

    /// <summary>
    /// Adds OpenTelemetry, the default health checks, service discovery and a standard
    /// resilience handler for every <see cref="HttpClient"/>.
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    /// <summary>
    /// Sends logs, traces and metrics to the OTLP endpoint that Aspire hands each service
    /// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>). Health probes, and client calls that no request or
    /// message caused (<see cref="BackgroundWorkSampler"/>), are left out of the traces.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(TelemetryPrefix + "*"))
            .WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new BackgroundWorkSampler()))
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(TelemetryPrefix + "*")
                .AddAspNetCoreInstrumentation(aspNetCore =>
                    aspNetCore.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Adds a liveness check that answers as long as the process runs.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);

        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (every check) and <c>/alive</c> (liveness checks only). Both need
    /// no API key: orchestrators and load balancers call them. With
    /// <see cref="BackgroundHealthReportExtensions.AddBackgroundHealthReport"/>, <c>/health</c>
    /// answers from the last background run instead of running the checks itself.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        if (app.Services.GetService<BackgroundHealthReport>() is { } report)
        {
            app.MapBackgroundHealthReport(HealthEndpointPath, report);
        }
        else
        {
            app.MapHealthChecks(HealthEndpointPath);
        }

        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
        });

        return app;
    }
}
