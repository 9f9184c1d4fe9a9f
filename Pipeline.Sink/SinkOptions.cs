using Pipeline.Contracts;

namespace Pipeline.Sink;

/// <summary>How the sink reads the aggregates topic and batches its writes (configuration section <c>Sink</c>).</summary>
public sealed class SinkOptions
{
    public const string SectionName = "Sink";

    /// <summary>The topic the stream processor writes aggregate states to.</summary>
    public string Topic { get; set; } = Topics.Aggregates;

    /// <summary>Where records the sink cannot store go, with the reason in their headers.</summary>
    public string DeadLetterTopic { get; set; } = Topics.DeadLetter;

    /// <summary>The consumer group (this setting, not <c>Kafka:Consumer:group.id</c>, names it).</summary>
    public string ConsumerGroup { get; set; } = ConsumerGroups.Sink;

    /// <summary>The most records written to PostgreSQL in one transaction.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>How long a batch waits for more records after its first one before it is written.</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The first wait after a failed write; it doubles on each further failure.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two attempts at the same batch.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether changed rows are announced with pg_notify for the API's event stream. Costs about
    /// a tenth to a quarter of the upsert throughput (bench/Sink); turn off where nobody streams.
    /// </summary>
    public bool AnnounceChanges { get; set; } = true;

    /// <summary>How often the consumer lag is measured against the brokers' high watermarks.</summary>
    public TimeSpan LagInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal static IEnumerable<string> Validate(SinkOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Topic))
        {
            yield return "Sink:Topic must name the aggregates topic.";
        }

        if (string.IsNullOrWhiteSpace(options.DeadLetterTopic))
        {
            yield return "Sink:DeadLetterTopic must name a topic.";
        }

        if (string.IsNullOrWhiteSpace(options.ConsumerGroup))
        {
            yield return "Sink:ConsumerGroup must name a consumer group.";
        }

        if (options.BatchSize is < 1 or > 50_000)
        {
            yield return "Sink:BatchSize must be between 1 and 50000.";
        }

        if (options.Linger < TimeSpan.Zero || options.Linger > TimeSpan.FromSeconds(10))
        {
            yield return "Sink:Linger must be between 0 and 10 seconds.";
        }

        if (options.RetryInitialDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryInitialDelay)
        {
            yield return "Sink:RetryInitialDelay must be positive and no longer than Sink:RetryMaxDelay.";
        }

        if (options.LagInterval <= TimeSpan.Zero)
        {
            yield return "Sink:LagInterval must be positive.";
        }
    }
}

/// <summary>How old windows are pruned (configuration section <c>Sink:Retention</c>). All-time totals are never pruned.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Sink:Retention";

    /// <summary>How long windows of each size are kept after they end; sizes not listed are kept for ever.</summary>
    public Dictionary<string, TimeSpan> MaxAge { get; set; } = new(StringComparer.Ordinal)
    {
        ["1m"] = TimeSpan.FromDays(2),
        ["1h"] = TimeSpan.FromDays(90),
    };

    /// <summary>How often the pruning job runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most rows one DELETE removes, so that no statement holds locks or bloats WAL for long.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>A pause between two DELETEs of one run, leaving room for the sink's own writes.</summary>
    public TimeSpan BatchPause { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Turns the pruning job off entirely.</summary>
    public bool Enabled { get; set; } = true;

    internal static IEnumerable<string> Validate(RetentionOptions options)
    {
        foreach (var (size, age) in options.MaxAge)
        {
            if (age <= TimeSpan.Zero)
            {
                yield return $"Sink:Retention:MaxAge:{size} must be positive.";
            }
        }

        if (options.Interval <= TimeSpan.Zero)
        {
            yield return "Sink:Retention:Interval must be positive.";
        }

        if (options.BatchSize is < 1 or > 100_000)
        {
            yield return "Sink:Retention:BatchSize must be between 1 and 100000.";
        }

        if (options.BatchPause < TimeSpan.Zero)
        {
            yield return "Sink:Retention:BatchPause cannot be negative.";
        }
    }
}
