using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.ServiceDefaults.Options;

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
public sealed class StreamProcessorOptions
{
    public const string SectionName = "StreamProcessor";

    /// <summary>The Streamiz application id: consumer group and prefix of the changelog topics.</summary>
    [RegularExpression("^[A-Za-z0-9._-]{1,200}$", ErrorMessage = "StreamProcessor:ApplicationId must be 1-200 characters of letters, digits, '.', '_' or '-' (it names a consumer group and topics).")]
    public string ApplicationId { get; set; } = StreamProcessorTopology.DefaultApplicationId;

    /// <summary>Stream threads in this instance; partitions are shared among all threads of all instances.</summary>
    [SettingRange(1, 64, ErrorMessage = "StreamProcessor:Threads must be between 1 and 64.")]
    public int Threads { get; set; } = 1;

    /// <summary>How often state is flushed and offsets committed; bounds how soon updates are emitted.</summary>
    [Duration("StreamProcessor:CommitInterval", "10ms", "at least 10ms")]
    public string CommitInterval { get; set; } = "100ms";

    /// <summary>The longest one poll of the broker waits for more records before processing what it has.</summary>
    [Duration("StreamProcessor:PollInterval", "1ms", "at least 1ms")]
    public string PollInterval { get; set; } = "10ms";

    /// <summary>
    /// The longest the broker may hold a fetch that has no new records. A real broker answers as
    /// soon as records arrive, but the local development broker always waits this long, so it adds
    /// directly to every update's delay (Kafka's default, 500ms, alone would exceed the emit interval).
    /// </summary>
    [Duration("StreamProcessor:FetchWaitMax", "0ms", "0ms or more")]
    public string FetchWaitMax { get; set; } = "10ms";

    /// <summary>How long the group waits for a silent instance before handing its partitions to the others.</summary>
    [Duration("StreamProcessor:SessionTimeout", "1s", "at least 1s")]
    public string SessionTimeout { get; set; } = "6s";

    /// <summary>
    /// How long a RUNNING stream thread may go without polling Kafka before the processor reports
    /// itself stalled (a Critical log, <c>/health</c> Unhealthy): it is blocked, most likely on the
    /// broker, and processes nothing meanwhile.
    /// </summary>
    [Duration("StreamProcessor:StallLimit", "1s", "at least 1s")]
    public string StallLimit { get; set; } = "60s";

    /// <summary>
    /// How long the processor's producer tries to deliver a record (<c>message.timeout.ms</c>).
    /// A commit waits for every record produced, so this bounds how long a broker that does not
    /// answer can hold a stream thread; a record not delivered by then fails the stream, which is
    /// started afresh. 2 minutes is the Java producer's <c>delivery.timeout.ms</c>; librdkafka's
    /// own default is 5.
    /// </summary>
    [Duration("StreamProcessor:DeliveryTimeout", "1s", "at least 1s")]
    public string DeliveryTimeout { get; set; } = "2m";

    [EnumDataType(typeof(ProcessingGuaranteeSetting), ErrorMessage = "StreamProcessor:Guarantee must be AtLeastOnce or ExactlyOnce.")]
    public ProcessingGuaranteeSetting Guarantee { get; set; } = ProcessingGuaranteeSetting.AtLeastOnce;

    [EnumDataType(typeof(StateStoreKind), ErrorMessage = "StreamProcessor:StateStore must be InMemory or RocksDb.")]
    public StateStoreKind StateStore { get; set; } = StateStoreKind.InMemory;

    /// <summary>
    /// Where RocksDB stores live, kept between starts. It belongs to one Kafka cluster; instances on
    /// one machine may share it (a task's store is opened by one instance at a time).
    /// </summary>
    public string StateDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "pipeline-stream-processor");
}

[OptionsValidator]
internal sealed partial class StreamProcessorOptionsValidator : IValidateOptions<StreamProcessorOptions>;

/// <summary>
/// What the annotations cannot check: the broker connection string and client security, the state
/// directory a RocksDB store needs, and the fit of the commit and poll intervals with the emit interval.
/// </summary>
internal sealed class StreamProcessorFitValidator(IOptions<AggregationOptions> aggregation, IConfiguration configuration)
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
