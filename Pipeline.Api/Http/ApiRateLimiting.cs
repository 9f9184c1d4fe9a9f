using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Pipeline.Api.Events;
using Pipeline.ServiceDefaults.Options;

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

    [SettingRange(1, int.MaxValue, ErrorMessage = "Api:RateLimit:TokenLimit must be positive.")]
    public int TokenLimit { get; set; } = 1000;

    [SettingRange(1, int.MaxValue, ErrorMessage = "Api:RateLimit:TokensPerPeriod must be positive.")]
    public int TokensPerPeriod { get; set; } = 500;

    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "Api:RateLimit:ReplenishmentPeriod must be positive.")]
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events per API key: a burst of 20,000 and 10,000 a second (the load generator and the AppHost tests send a few thousand a second).</summary>
    public TokenBucketSettings Events { get; set; } = new() { TokenLimit = 20_000, TokensPerPeriod = 10_000 };

    /// <summary>Requests without a valid API key (missing, wrong, or to the OpenAPI document), per client address.</summary>
    public TokenBucketSettings Unauthenticated { get; set; } = new() { TokenLimit = 20, TokensPerPeriod = 5 };

    internal TokenBucketSettings RequestBucket() => new() { TokenLimit = TokenLimit, TokensPerPeriod = TokensPerPeriod, ReplenishmentPeriod = ReplenishmentPeriod };
}

[OptionsValidator]
internal sealed partial class ApiRateLimitOptionsValidator : IValidateOptions<ApiRateLimitOptions>;

/// <summary>
/// The nested buckets, by hand: one type serves two sections, and each message must name its own
/// (<c>Api:RateLimit:Events:TokenLimit</c>), which an annotation cannot know. And the largest
/// batch must fit in the events bucket, or it could never be accepted.
/// </summary>
internal sealed class RateLimitBucketsValidator(IOptions<IngestOptions> ingest) : IValidateOptions<ApiRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiRateLimitOptions options)
    {
        var failures = new List<string>();
        Check("Api:RateLimit:Events", options.Events, failures);
        Check("Api:RateLimit:Unauthenticated", options.Unauthenticated, failures);
        if (options.Events.TokenLimit < ingest.Value.MaxBatchSize)
        {
            failures.Add("Api:RateLimit:Events:TokenLimit must be at least Ingest:MaxBatchSize, or the largest batch could never be accepted.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(string section, TokenBucketSettings bucket, List<string> failures)
    {
        if (bucket.TokenLimit <= 0)
        {
            failures.Add(section + ":TokenLimit must be positive.");
        }

        if (bucket.TokensPerPeriod <= 0)
        {
            failures.Add(section + ":TokensPerPeriod must be positive.");
        }

        if (bucket.ReplenishmentPeriod <= TimeSpan.Zero)
        {
            failures.Add(section + ":ReplenishmentPeriod must be positive.");
        }
    }
}

/// <summary>The request rate limits and their 429 answer.</summary>
public static class ApiRateLimiting
{
    internal static IHostApplicationBuilder AddApiRateLimiting(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiRateLimitOptions, ApiRateLimitOptionsValidator>(ApiRateLimitOptions.SectionName)
            .ValidateWith<ApiRateLimitOptions, RateLimitBucketsValidator>();
        builder.Services.AddSingleton<EventRateLimiter>();

        builder.Services.AddRateLimiter(limiter =>
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
                    ? RateLimitPartition.GetTokenBucketLimiter("key:" + caller, _ => options.RequestBucket().ToLimiterOptions())
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

        return builder;
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

    internal static int RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));

    private static bool IsHealthProbe(PathString path) =>
        path.StartsWithSegments(Extensions.HealthEndpointPath) || path.StartsWithSegments(Extensions.AlivenessEndpointPath);
}
