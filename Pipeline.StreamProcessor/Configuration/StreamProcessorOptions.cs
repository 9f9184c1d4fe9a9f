using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.StreamProcessor.Configuration;

/// <summary>The delivery guarantee Streamiz runs with.</summary>
public enum ProcessingGuaranteeSetting
{
    /// <summary>At-least-once delivery; the processor's own idempotent state makes counts exact.</summary>
    AtLeastOnce,

    /// <summary>Kafka transactions on top (real brokers only: the local broker does not honour them).</summary>
    ExactlyOnce,
}

/// <summary>Where the processor keeps its state between commits.</summary>
public enum StateStoreKind
{
    /// <summary>
    /// In memory, rebuilt from the changelog topics on every start: whole only while the changelogs
    /// start at offset 0 (a real broker compacts them; the local broker drops their head).
    /// </summary>
    InMemory,

    /// <summary>
    /// RocksDB under <see cref="StreamProcessorOptions.StateDirectory"/>, kept between starts; a start
    /// restores only the changelogs' tail over it. What the local mode uses.
    /// </summary>
    RocksDb,
}

/// <summary>
/// How the Streamiz application runs: section <c>StreamProcessor</c>. The broker address comes
/// only from <c>ConnectionStrings:kafka</c>.
/// </summary>
public sealed partial class StreamProcessorOptions
{
    public const string SectionName = "StreamProcessor";

    /// <summary>The Streamiz application id: consumer group and prefix of the changelog topics.</summary>
    public string ApplicationId { get; set; } = StreamProcessorTopology.DefaultApplicationId;

    /// <summary>Stream threads in this instance; partitions are shared among all threads of all instances.</summary>
    public int Threads { get; set; } = 1;

    /// <summary>How often state is flushed and offsets committed; bounds how soon updates are emitted.</summary>
    public string CommitInterval { get; set; } = "100ms";

    /// <summary>The longest one poll of the broker waits for more records before processing what it has.</summary>
    public string PollInterval { get; set; } = "10ms";

    /// <summary>
    /// The longest the broker may hold a fetch that has no new records. A real broker answers as
    /// soon as records arrive, but the local development broker always waits this long, so it adds
    /// directly to every update's delay (Kafka's default, 500ms, alone would exceed the emit interval).
    /// </summary>
    public string FetchWaitMax { get; set; } = "10ms";

    /// <summary>How long the group waits for a silent instance before handing its partitions to the others.</summary>
    public string SessionTimeout { get; set; } = "6s";

    public ProcessingGuaranteeSetting Guarantee { get; set; } = ProcessingGuaranteeSetting.AtLeastOnce;

    public StateStoreKind StateStore { get; set; } = StateStoreKind.InMemory;

    /// <summary>
    /// Where RocksDB stores live, kept between starts. It belongs to one Kafka cluster; instances on
    /// one machine may share it (a task's store is opened by one instance at a time).
    /// </summary>
    public string StateDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "pipeline-stream-processor");

    [GeneratedRegex("^[A-Za-z0-9._-]{1,200}$")]
    internal static partial Regex ApplicationIdPattern();
}

/// <summary>Checks <see cref="StreamProcessorOptions"/>, the broker connection string, and the fit with the emit interval.</summary>
internal sealed class StreamProcessorOptionsValidator(IOptions<AggregationOptions> aggregation, IConfiguration configuration)
    : IValidateOptions<StreamProcessorOptions>
{
    public ValidateOptionsResult Validate(string? name, StreamProcessorOptions options)
    {
        var failures = new List<string>();
        try
        {
            KafkaConnection.GetBootstrapServers(configuration);
        }
        catch (InvalidOperationException exception)
        {
            failures.Add(exception.Message);
        }

        try
        {
            KafkaClientSecurity.Read(configuration);
        }
        catch (InvalidOperationException exception)
        {
            failures.Add(exception.Message);
        }

        if (!StreamProcessorOptions.ApplicationIdPattern().IsMatch(options.ApplicationId ?? string.Empty))
        {
            failures.Add($"StreamProcessor:ApplicationId '{options.ApplicationId}' must be 1-200 characters of letters, digits, '.', '_' or '-' (it names a consumer group and topics).");
        }

        if (options.Threads is < 1 or > 64)
        {
            failures.Add($"StreamProcessor:Threads is {options.Threads}; it must be between 1 and 64.");
        }

        AggregationOptionsValidator.RequireDuration(failures, "StreamProcessor:CommitInterval", options.CommitInterval, TimeSpan.FromMilliseconds(10), "at least 10ms");
        AggregationOptionsValidator.RequireDuration(failures, "StreamProcessor:PollInterval", options.PollInterval, TimeSpan.FromMilliseconds(1), "at least 1ms");
        AggregationOptionsValidator.RequireDuration(failures, "StreamProcessor:FetchWaitMax", options.FetchWaitMax, TimeSpan.Zero, "0ms or more");
        AggregationOptionsValidator.RequireDuration(failures, "StreamProcessor:SessionTimeout", options.SessionTimeout, TimeSpan.FromSeconds(1), "at least 1s");
        if (!Enum.IsDefined(options.Guarantee))
        {
            failures.Add("StreamProcessor:Guarantee must be AtLeastOnce or ExactlyOnce.");
        }

        if (!Enum.IsDefined(options.StateStore))
        {
            failures.Add("StreamProcessor:StateStore must be InMemory or RocksDb.");
        }

        if (options.StateStore == StateStoreKind.RocksDb && string.IsNullOrWhiteSpace(options.StateDirectory))
        {
            failures.Add("StreamProcessor:StateDirectory must be set when StreamProcessor:StateStore is RocksDb.");
        }

        // An update is emitted on the first punctuation after the commit that made it durable,
        // so a commit interval plus two polls must fit in the emit interval.
        if (failures.Count == 0
            && Durations.TryParse(aggregation.Value.EmitInterval, out var emitInterval)
            && Durations.TryParse(options.CommitInterval, out var commitInterval)
            && Durations.TryParse(options.PollInterval, out var pollInterval)
            && commitInterval + 2 * pollInterval > emitInterval)
        {
            failures.Add(
                $"StreamProcessor:CommitInterval ({options.CommitInterval}) plus two StreamProcessor:PollInterval ({options.PollInterval}) " +
                $"exceed Aggregation:EmitInterval ({aggregation.Value.EmitInterval}): updates could not reach the aggregates topic in time. " +
                "Lower the commit or poll interval, or raise the emit interval.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
