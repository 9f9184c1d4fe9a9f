using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Api.Events;

/// <summary>Limits and timeouts of event ingest (configuration section <c>Ingest</c>).</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>The most events one batch request may hold.</summary>
    [SettingRange(1, 100_000, ErrorMessage = "Ingest:MaxBatchSize must be between 1 and 100000.")]
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>The largest request body, in bytes, either endpoint reads (a batch of 10,000 typical events is about 1 MiB).</summary>
    [SettingRange(typeof(long), "1024", "2147483647", ErrorMessage = "Ingest:MaxBodyBytes must be between 1 KiB and 2 GiB.")]
    public long MaxBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How far in the past an event's timestamp may be.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "Ingest:MaxEventAge must be positive.")]
    public TimeSpan MaxEventAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How far in the future an event's timestamp may be (the client's clock may run ahead).</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", ErrorMessage = "Ingest:MaxClockSkew must not be negative.")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long the broker has to acknowledge a request's events, from the moment they are handed
    /// to the producer. It is also librdkafka's <c>message.timeout.ms</c>.
    /// </summary>
    [SettingRange(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Ingest:ProduceTimeout must be between 100 ms and 5 minutes.")]
    public TimeSpan ProduceTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>What a 503 tells the client to wait before retrying: the produce timeout, in whole seconds.</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(ProduceTimeout.TotalSeconds));

    internal static OptionsBuilder<IngestOptions> Register(IServiceCollection services) =>
        services.AddValidatedOptions<IngestOptions, IngestOptionsValidator>(SectionName);
}

[OptionsValidator]
internal sealed partial class IngestOptionsValidator : IValidateOptions<IngestOptions>;
