using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Pipeline.Api.Events;

namespace Pipeline.Api.Http;

/// <summary>One token bucket: at most <see cref="TokenLimit"/> tokens, <see cref="TokensPerPeriod"/> back every <see cref="ReplenishmentPeriod"/>.</summary>
public sealed class TokenBucketSettings
{
    public int TokenLimit { get; set; }

    public int TokensPerPeriod { get; set; }

    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    internal TokenBucketRateLimiterOptions ToLimiterOptions() => new()
    {
        TokenLimit = TokenLimit,
        TokensPerPeriod = TokensPerPeriod,
        ReplenishmentPeriod = ReplenishmentPeriod,
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}

/// <summary>
/// The API's rate limits (section <c>Api:RateLimit</c>). Every request except the health probes
/// takes one token: from its API key's bucket (<see cref="TokenLimit"/>, <see cref="TokensPerPeriod"/>
/// per <see cref="ReplenishmentPeriod"/>) when it carries a valid key, otherwise from the bucket of
/// its client address (<see cref="Unauthenticated"/>), so that guessing keys is throttled too.
/// Ingest also takes one token per event from the key's <see cref="Events"/> bucket.
/// </summary>
public sealed class ApiRateLimitOptions
{
    public const string SectionName = "Api:RateLimit";

    public int TokenLimit { get; set; } = 1000;

    public int TokensPerPeriod { get; set; } = 500;

    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events per API key: a burst of 20,000 and 10,000 a second (the load generator and the AppHost tests send a few thousand a second).</summary>
    public TokenBucketSettings Events { get; set; } = new() { TokenLimit = 20_000, TokensPerPeriod = 10_000 };

    /// <summary>Requests without a valid API key (missing, wrong, or to the OpenAPI document), per client address.</summary>
    public TokenBucketSettings Unauthenticated { get; set; } = new() { TokenLimit = 20, TokensPerPeriod = 5 };

    internal TokenBucketSettings Requests => new() { TokenLimit = TokenLimit, TokensPerPeriod = TokensPerPeriod, ReplenishmentPeriod = ReplenishmentPeriod };
}

/// <summary>The request rate limits and their 429 answer.</summary>
public static class ApiRateLimiting
{
    internal static IServiceCollection AddApiRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<ApiRateLimitOptions>()
            .BindConfiguration(ApiRateLimitOptions.SectionName)
            .ValidateBucket("Api:RateLimit", o => o.Requests)
            .ValidateBucket("Api:RateLimit:Events", o => o.Events)
            .ValidateBucket("Api:RateLimit:Unauthenticated", o => o.Unauthenticated)
            .Validate<IOptions<IngestOptions>>((o, ingest) => o.Events.TokenLimit >= ingest.Value.MaxBatchSize,
                "Api:RateLimit:Events:TokenLimit must be at least Ingest:MaxBatchSize, or the largest batch could never be accepted.")
            .ValidateOnStart();
        services.AddSingleton<EventRateLimiter>();

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Runs after authentication has read the key, and before a missing or wrong key is
            // answered: a caller without a valid key is limited by address, so key guessing is slow.
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                if (IsHealthProbe(context.Request.Path))
                {
                    return RateLimitPartition.GetNoLimiter("health");
                }

                var options = context.RequestServices.GetRequiredService<IOptions<ApiRateLimitOptions>>().Value;
                return context.User.Identity is { IsAuthenticated: true, Name: { } caller }
                    ? RateLimitPartition.GetTokenBucketLimiter("key:" + caller, _ => options.Requests.ToLimiterOptions())
                    : RateLimitPartition.GetTokenBucketLimiter("address:" + context.Connection.RemoteIpAddress, _ => options.Unauthenticated.ToLimiterOptions());
            });
            limiter.OnRejected = (rejected, _) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var authenticated = rejected.HttpContext.User.Identity?.IsAuthenticated == true;
                return new ValueTask(WriteRateLimitedAsync(rejected.HttpContext, retryAfter,
                    authenticated ? "Too many requests for this API key." : "Too many requests without a valid API key from this address."));
            };
        });

        return services;
    }

    /// <summary>Answers 429 <c>rate-limited</c> with a Retry-After of at least one second.</summary>
    internal static Task WriteRateLimitedAsync(HttpContext context, TimeSpan retryAfter, string title, string? detail = null)
    {
        var seconds = RetryAfterSeconds(retryAfter);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        IngestMetrics.RequestRefused(context, ErrorCodes.RateLimited);
        return ApiProblems.WriteAsync(context, ApiProblems.Create(
            StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, title, detail ?? $"Retry after {seconds} s."));
    }

    private static OptionsBuilder<ApiRateLimitOptions> ValidateBucket(
        this OptionsBuilder<ApiRateLimitOptions> options, string section, Func<ApiRateLimitOptions, TokenBucketSettings> bucket) =>
        options
            .Validate(o => bucket(o).TokenLimit > 0, section + ":TokenLimit must be positive.")
            .Validate(o => bucket(o).TokensPerPeriod > 0, section + ":TokensPerPeriod must be positive.")
            .Validate(o => bucket(o).ReplenishmentPeriod > TimeSpan.Zero, section + ":ReplenishmentPeriod must be positive.");

    internal static int RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    private static bool IsHealthProbe(PathString path) =>
        path.StartsWithSegments(Extensions.HealthEndpointPath) || path.StartsWithSegments(Extensions.AlivenessEndpointPath);
}
