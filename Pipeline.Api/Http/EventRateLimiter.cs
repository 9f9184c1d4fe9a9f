using System.Collections.Concurrent;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Pipeline.Api.Http;

/// <summary>
/// The event budget of each API key (<c>Api:RateLimit:Events</c>): ingest takes one token per
/// event, once the request's events are known to be valid, so a batch of 10,000 costs 10,000 and
/// not one. There is one bucket per configured key, so their number is bounded.
/// </summary>
internal sealed class EventRateLimiter(IOptions<ApiRateLimitOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TokenBucketRateLimiter>> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes <paramref name="events"/> tokens from the caller's bucket, or none and says how long to wait.</summary>
    public RateLimitLease Acquire(ClaimsPrincipal caller, int events)
    {
        var name = caller.Identity?.Name ?? "anonymous";
        var bucket = _buckets.GetOrAdd(name, static (_, settings) => new(() => new TokenBucketRateLimiter(settings.ToLimiterOptions())), options.Value.Events).Value;
        return bucket.AttemptAcquire(Math.Min(events, options.Value.Events.TokenLimit));
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values.Where(bucket => bucket.IsValueCreated))
        {
            bucket.Value.Dispose();
        }
    }
}
