using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Sink;

/// <summary>How the sink reads the aggregates topic and batches its writes (configuration section <c>Sink</c>).</summary>
public sealed class SinkOptions
{
    public const string SectionName = "Sink";

    /// <summary>The topic the stream processor writes aggregate states to.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Sink:Topic must name the aggregates topic.")]
    public string Topic { get; set; } = Topics.Aggregates;

    /// <summary>Where records the sink cannot store go, with the reason in their headers.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Sink:DeadLetterTopic must name a topic.")]
    public string DeadLetterTopic { get; set; } = Topics.DeadLetter;

    /// <summary>The consumer group (this setting, not <c>Kafka:Consumer:group.id</c>, names it).</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Sink:ConsumerGroup must name a consumer group.")]
    public string ConsumerGroup { get; set; } = ConsumerGroups.Sink;

    /// <summary>The most records written to PostgreSQL in one transaction.</summary>
    [SettingRange(1, 50_000, ErrorMessage = "Sink:BatchSize must be between 1 and 50000.")]
    public int BatchSize { get; set; } = 1000;

    /// <summary>How long a batch waits for more records after its first one before it is written.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Sink:Linger must be between 0 and 10 seconds.")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The first wait after a failed write; it doubles on each further failure.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "Sink:RetryInitialDelay must be positive.")]
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two attempts at the same batch.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether changed rows are announced with pg_notify for the API's event stream. Costs about
    /// a tenth to a quarter of the upsert throughput (bench/Sink); turn off where nobody streams.
    /// </summary>
    public bool AnnounceChanges { get; set; } = true;

    /// <summary>How often the consumer lag is measured against the brokers' high watermarks.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "Sink:LagInterval must be positive.")]
    public TimeSpan LagInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>How old windows are pruned (configuration section <c>Sink:Retention</c>). All-time totals are never pruned.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Sink:Retention";

    /// <summary>How long windows of each size are kept after they end; sizes not listed are kept for ever.</summary>
    [PositiveAges]
    public Dictionary<string, TimeSpan> MaxAge { get; set; } = new(StringComparer.Ordinal)
    {
        ["1m"] = TimeSpan.FromDays(2),
        ["1h"] = TimeSpan.FromDays(90),
    };

    /// <summary>How often the pruning job runs.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "Sink:Retention:Interval must be positive.")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most rows one DELETE removes, so that no statement holds locks or bloats WAL for long.</summary>
    [SettingRange(1, 100_000, ErrorMessage = "Sink:Retention:BatchSize must be between 1 and 100000.")]
    public int BatchSize { get; set; } = 1000;

    /// <summary>A pause between two DELETEs of one run, leaving room for the sink's own writes.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", ErrorMessage = "Sink:Retention:BatchPause cannot be negative.")]
    public TimeSpan BatchPause { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Turns the pruning job off entirely.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Every window size's age is positive, named by its key (<c>Sink:Retention:MaxAge:1m</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class PositiveAgesAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        var wrong = (value as IReadOnlyDictionary<string, TimeSpan> ?? new Dictionary<string, TimeSpan>())
            .Where(entry => entry.Value <= TimeSpan.Zero)
            .Select(entry => $"Sink:Retention:MaxAge:{entry.Key} must be positive.")
            .ToList();
        return wrong.Count == 0 ? ValidationResult.Success : new ValidationResult(string.Join(" ", wrong));
    }
}

[OptionsValidator]
internal sealed partial class SinkOptionsValidator : IValidateOptions<SinkOptions>;

/// <summary>The retry back-off starts no later than it may end.</summary>
internal sealed class SinkRetryDelaysValidator : IValidateOptions<SinkOptions>
{
    public ValidateOptionsResult Validate(string? name, SinkOptions options) =>
        options.RetryMaxDelay >= options.RetryInitialDelay
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Sink:RetryInitialDelay must be no longer than Sink:RetryMaxDelay.");
}

[OptionsValidator]
internal sealed partial class RetentionOptionsValidator : IValidateOptions<RetentionOptions>;
