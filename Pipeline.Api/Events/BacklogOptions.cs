using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Api.Events;

/// <summary>
/// Backpressure at the door (configuration section <c>Ingest:Backlog</c>): the API refuses new
/// events with 503 <c>backlog-full</c> while the work waiting on the pipeline's topics would go
/// past what the broker is sure to keep. Waiting work is measured per partition, in records: the
/// high watermark minus the consuming group's committed offset (or minus the log start while the
/// group has committed nothing, e.g. because it is down).
/// </summary>
public sealed class BacklogOptions
{
    public const string SectionName = "Ingest:Backlog";

    /// <summary>
    /// The most records that may wait on one partition of a watched topic; 0 switches backpressure
    /// off. Set it well inside the topic's retention (a real cluster keeps days; the local broker
    /// only about 5 MiB per partition, and the AppHost sets this to match it).
    /// </summary>
    [SettingRange(typeof(long), "0", "9223372036854775807", ErrorMessage = "Ingest:Backlog:MaxRecordsPerPartition must not be negative (0 switches backpressure off).")]
    public long MaxRecordsPerPartition { get; set; } = 1_000_000;

    /// <summary>How often the backlog is measured (in the background: a request costs no broker call).</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "Ingest:Backlog:RefreshInterval must be between 10 ms and 1 minute.")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>What a 503 <c>backlog-full</c> tells the client to wait before retrying.</summary>
    [SettingRange(1, 3600, ErrorMessage = "Ingest:Backlog:RetryAfterSeconds must be between 1 and 3600.")]
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>The stream processor's consumer group (its Streamiz application id), which reads the events topic.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Ingest:Backlog:ProcessorGroup must name a consumer group.")]
    public string ProcessorGroup { get; set; } = ConsumerGroups.StreamProcessor;

    /// <summary>The sink's consumer group, which reads the aggregates topic.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Ingest:Backlog:SinkGroup must name a consumer group.")]
    public string SinkGroup { get; set; } = ConsumerGroups.Sink;

    public bool Enabled => MaxRecordsPerPartition > 0;

    internal static OptionsBuilder<BacklogOptions> Register(IServiceCollection services) =>
        services.AddValidatedOptions<BacklogOptions, BacklogOptionsValidator>(SectionName);
}

[OptionsValidator]
internal sealed partial class BacklogOptionsValidator : IValidateOptions<BacklogOptions>;
