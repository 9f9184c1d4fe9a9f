using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Options;

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
    [SettingRange(1, int.MaxValue, ErrorMessage = "Api:Streams:MaxOpenPerKey must be at least 1.")]
    public int MaxOpenPerKey { get; set; } = 10;

    /// <summary>Open streams in all, whatever the key.</summary>
    public int MaxOpen { get; set; } = 100;

    /// <summary>
    /// Changes queued for one client before its oldest are dropped (and the client told). One
    /// sink commit announces up to a batch of changes at once (Sink:BatchSize, 1,000), so the
    /// default holds a few commits' worth for a client that reads as fast as they come.
    /// </summary>
    [SettingRange(1, 65_536, ErrorMessage = "Api:Streams:QueueCapacity must be between 1 and 65536.")]
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>What a refused stream is told to wait before trying again.</summary>
    [SettingRange(1, 3600, ErrorMessage = "Api:Streams:RetryAfterSeconds must be between 1 and 3600.")]
    public int RetryAfterSeconds { get; set; } = 5;

    internal static OptionsBuilder<ChangeStreamOptions> Register(IServiceCollection services) =>
        services.AddValidatedOptions<ChangeStreamOptions, ChangeStreamOptionsValidator>(SectionName)
            .ValidateWith<ChangeStreamOptions, ChangeStreamCapsValidator>();
}

[OptionsValidator]
internal sealed partial class ChangeStreamOptionsValidator : IValidateOptions<ChangeStreamOptions>;

/// <summary>The cap in all holds at least one key's streams.</summary>
internal sealed class ChangeStreamCapsValidator : IValidateOptions<ChangeStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, ChangeStreamOptions options) =>
        options.MaxOpen >= options.MaxOpenPerKey
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Api:Streams:MaxOpen must be at least Api:Streams:MaxOpenPerKey.");
}
