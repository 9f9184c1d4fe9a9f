using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Health checks run on a timer in the background, never because someone asked: <c>/health</c>
/// then answers from the last report, so an anonymous caller costs a lookup, not a broker
/// metadata call and a database round trip. The Aspire health-checks sample caches the answer
/// of <c>/health</c> for the same reason; here no request ever starts a check. An Unhealthy
/// check (such as <c>records-lost</c>) shows on <c>/health</c> within one period.
/// </summary>
public sealed class BackgroundHealthReport : IHealthCheckPublisher
{
    // Requests that arrive before the first run finished wait for it rather than run the checks.
    private static readonly TimeSpan FirstReportWait = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _firstReport = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile HealthReport? _last;

    /// <summary>The last report, or null before the first run finished.</summary>
    public HealthReport? Last => _last;

    /// <inheritdoc />
    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        _last = report;
        _firstReport.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Answers like the health checks middleware (200 for Healthy or Degraded, 503 for Unhealthy,
    /// the status as text, never cached), from the last report; while there is none yet, after
    /// waiting a little for it, 503 <c>Unhealthy</c>.
    /// </summary>
    internal async Task WriteAsync(HttpContext context)
    {
        if (_last is null)
        {
            try
            {
                await _firstReport.Task.WaitAsync(FirstReportWait, context.RequestAborted);
            }
            catch (TimeoutException)
            {
            }
        }

        var status = _last?.Status ?? HealthStatus.Unhealthy;
        context.Response.StatusCode = status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        context.Response.ContentType = "text/plain";
        context.Response.Headers.CacheControl = "no-store, no-cache";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.WriteAsync(status.ToString());
        }
    }
}

/// <summary>Registration of <see cref="BackgroundHealthReport"/>.</summary>
public static class BackgroundHealthReportExtensions
{
    /// <summary>
    /// Runs every health check every <paramref name="period"/> (5 s by default) in the background,
    /// starting at once, and makes <see cref="Extensions.MapDefaultEndpoints"/> serve <c>/health</c>
    /// from the last report. For a service whose <c>/health</c> anyone can reach.
    /// </summary>
    public static TBuilder AddBackgroundHealthReport<TBuilder>(this TBuilder builder, TimeSpan? period = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddSingleton<BackgroundHealthReport>();
        builder.Services.AddSingleton<IHealthCheckPublisher>(services => services.GetRequiredService<BackgroundHealthReport>());
        builder.Services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.Zero;
            publisher.Period = period ?? TimeSpan.FromSeconds(5);
            publisher.Timeout = TimeSpan.FromSeconds(10);
        });
        return builder;
    }

    internal static IEndpointConventionBuilder MapBackgroundHealthReport(this WebApplication app, string path, BackgroundHealthReport report) =>
        app.MapMethods(path, [HttpMethods.Get, HttpMethods.Head], report.WriteAsync);
}
