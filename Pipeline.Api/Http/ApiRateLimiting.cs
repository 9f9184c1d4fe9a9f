using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Pipeline.Api.Events;

namespace Pipeline.Api.Http;

/// <summary>
/// The token bucket every API key has: each request to an <c>/api</c> endpoint takes one token
/// (a batch of 10,000 events is one request); the bucket holds at most <see cref="TokenLimit"/>
/// and gets <see cref="TokensPerPeriod"/> back every <see cref="ReplenishmentPeriod"/>.
/// </summary>
public sealed class ApiRateLimitOptions
{
    public const string SectionName = "Api:RateLimit";

    public int TokenLimit { get; set; } = 1000;

    public int TokensPerPeriod { get; set; } = 500;

    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>The per-API-key rate limit, its policy name and its 429 answer.</summary>
public static class ApiRateLimiting
{
    /// <summary>The policy an endpoint group asks for with <c>RequireRateLimiting</c>.</summary>
    public const string PerApiKeyPolicy = "per-api-key";

    internal static IServiceCollection AddApiRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<ApiRateLimitOptions>()
            .BindConfiguration(ApiRateLimitOptions.SectionName)
            .Validate(o => o.TokenLimit > 0, "Api:RateLimit:TokenLimit must be positive.")
            .Validate(o => o.TokensPerPeriod > 0, "Api:RateLimit:TokensPerPeriod must be positive.")
            .Validate(o => o.ReplenishmentPeriod > TimeSpan.Zero, "Api:RateLimit:ReplenishmentPeriod must be positive.")
            .ValidateOnStart();

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(PerApiKeyPolicy, context =>
            {
                // The group authenticates before it limits, so every request here has a key's name.
                var caller = context.User.Identity?.Name ?? "anonymous";
                var options = context.RequestServices.GetRequiredService<IOptions<ApiRateLimitOptions>>().Value;
                return RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.TokenLimit,
                    TokensPerPeriod = options.TokensPerPeriod,
                    ReplenishmentPeriod = options.ReplenishmentPeriod,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = (rejected, _) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                IngestMetrics.RequestRefused(rejected.HttpContext, ErrorCodes.RateLimited);
                return new ValueTask(ApiProblems.WriteAsync(rejected.HttpContext, ApiProblems.Create(
                    StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
                    "Too many requests for this API key.", $"Retry after {seconds} s.")));
            };
        });

        return services;
    }
}
