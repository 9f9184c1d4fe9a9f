using Microsoft.Extensions.Options;

namespace Pipeline.Api.Aggregates;

/// <summary>
/// Bounds on the change streams (<c>GET /api/aggregates/stream</c>, section <c>Api:Streams</c>):
/// each open stream holds a queue and gets every change fanned out to it, so their number is
/// capped, per API key and in all. A stream past either cap is refused with 429 <c>too-many-streams</c>.
/// </summary>
public sealed class ChangeStreamOptions
{
    public const string SectionName = "Api:Streams";

    /// <summary>Open streams per API key.</summary>
    public int MaxOpenPerKey { get; set; } = 10;

    /// <summary>Open streams in all, whatever the key.</summary>
    public int MaxOpen { get; set; } = 100;

    /// <summary>Changes queued for one slow client before its oldest are dropped.</summary>
    public int QueueCapacity { get; set; } = 256;

    /// <summary>What a refused stream is told to wait before trying again.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    internal static OptionsBuilder<ChangeStreamOptions> Register(IServiceCollection services) =>
        services.AddOptions<ChangeStreamOptions>()
            .BindConfiguration(SectionName)
            .Validate(o => o.MaxOpenPerKey >= 1, "Api:Streams:MaxOpenPerKey must be at least 1.")
            .Validate(o => o.MaxOpen >= o.MaxOpenPerKey, "Api:Streams:MaxOpen must be at least Api:Streams:MaxOpenPerKey.")
            .Validate(o => o.QueueCapacity is >= 1 and <= 65_536, "Api:Streams:QueueCapacity must be between 1 and 65536.")
            .Validate(o => o.RetryAfterSeconds is >= 1 and <= 3600, "Api:Streams:RetryAfterSeconds must be between 1 and 3600.")
            .ValidateOnStart();
}
