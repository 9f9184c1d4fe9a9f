using System.Diagnostics.Metrics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Pipeline.Api.Http;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Api.Events;

/// <summary>Where the pipeline is too far behind: the partition whose waiting records reached the bound.</summary>
internal sealed record BacklogFull(string Topic, int Partition, string Group, long Waiting, long Limit);

/// <summary>
/// Measures, in the background, how many records wait on each partition of the events topic (for
/// the stream processor) and of the aggregates topic (for the sink), and says whether the API
/// must hold back new events (<see cref="BacklogOptions"/>). A request only reads the last figures,
/// plus what this API acknowledged since they were taken, so a burst between two measurements is
/// counted too. When the figures cannot be measured (the broker is away) the API does not refuse
/// on their account: producing fails by itself then, with its own 503.
/// </summary>
internal sealed partial class BacklogMonitor : BackgroundService
{
    private static readonly TimeSpan BrokerTimeout = TimeSpan.FromSeconds(5);

    private readonly BacklogOptions _options;
    private readonly IConfiguration _configuration;
    private readonly ILogger<BacklogMonitor> _logger;
    private readonly Stage[] _stages;
    private long[] _acceptedSinceMeasured = [];
    private volatile Measured? _measured;

    public BacklogMonitor(IOptions<BacklogOptions> options, IConfiguration configuration, IMeterFactory meterFactory, ILogger<BacklogMonitor> logger)
    {
        _options = options.Value;
        _configuration = configuration;
        _logger = logger;
        _stages = [new(Topics.Events, _options.ProcessorGroup), new(Topics.Aggregates, _options.SinkGroup)];
        meterFactory.Create(ApiTelemetry.Name).CreateObservableGauge(
            "pipeline.api.backlog", ReadBacklog, "{record}",
            "Records waiting on a partition of a pipeline topic for the group that reads it (high watermark minus committed offset), as last measured.");
    }

    /// <summary>Null while new events may be taken; otherwise where the backlog is full.</summary>
    /// <summary>Whether the backlog has been measured (and nothing since made the figures untrusted).</summary>
    internal bool HasMeasured => _measured is not null;

    public BacklogFull? Check()
    {
        if (!_options.Enabled || _measured is not { } measured)
        {
            return null;
        }

        var limit = _options.MaxRecordsPerPartition;
        for (var s = 0; s < _stages.Length; s++)
        {
            var waiting = measured.Waiting[s];
            for (var partition = 0; partition < waiting.Length; partition++)
            {
                var total = waiting[partition] + (s == 0 ? AcceptedSince(partition) : 0);
                if (total >= limit)
                {
                    return new BacklogFull(_stages[s].Topic, partition, _stages[s].Group, total, limit);
                }
            }
        }

        return null;
    }

    /// <summary>Counts what a request put on the events topic since the last measurement.</summary>
    public void Accepted(ProduceOutcome outcome)
    {
        var accepted = _acceptedSinceMeasured;
        Span<long> counts = accepted.Length <= 256 ? stackalloc long[accepted.Length] : new long[accepted.Length];
        for (var i = 0; i < outcome.Events.Count; i++)
        {
            if (outcome.IsAcknowledged(i) && outcome.PartitionOf(i) is var partition && partition < accepted.Length)
            {
                counts[partition]++;
            }
        }

        for (var partition = 0; partition < counts.Length; partition++)
        {
            if (counts[partition] > 0)
            {
                Interlocked.Add(ref accepted[partition], counts[partition]);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            LogDisabled(_logger);
            return;
        }

        // Blocking librdkafka calls: on a thread of their own, not the request threads'.
        await Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(CancellationToken stoppingToken)
    {
        using var clients = new Clients(_configuration, _stages);
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Measure(clients);
                if (failing)
                {
                    LogMeasuringAgain(_logger);
                    failing = false;
                }
            }
            catch (KafkaException exception)
            {
                // Figures that cannot be refreshed are not trusted: no refusal on their account.
                _measured = null;
                if (!failing)
                {
                    LogMeasureFailed(_logger, exception.Error.Code, exception.Error.Reason);
                    failing = true;
                }
            }

            stoppingToken.WaitHandle.WaitOne(_options.RefreshInterval);
        }
    }

    private void Measure(Clients clients)
    {
        var waiting = new long[_stages.Length][];
        for (var s = 0; s < _stages.Length; s++)
        {
            var partitions = clients.Partitions(_stages[s].Topic);
            if (s == 0)
            {
                // Reset before reading: what is accepted meanwhile is counted twice, never missed.
                Interlocked.Exchange(ref _acceptedSinceMeasured, new long[partitions.Count]);
            }

            var committed = clients.Committed(s, partitions);
            waiting[s] = new long[partitions.Count];
            for (var p = 0; p < partitions.Count; p++)
            {
                waiting[s][p] = ConsumerLag.Of(clients.Watermarks(partitions[p]), committed[p]);
            }
        }

        _measured = new Measured(waiting);
    }

    private long AcceptedSince(int partition)
    {
        var accepted = _acceptedSinceMeasured;
        return partition < accepted.Length ? Interlocked.Read(ref accepted[partition]) : 0;
    }

    private IEnumerable<Measurement<long>> ReadBacklog()
    {
        if (_measured is not { } measured)
        {
            yield break;
        }

        for (var s = 0; s < _stages.Length; s++)
        {
            for (var p = 0; p < measured.Waiting[s].Length; p++)
            {
                yield return new Measurement<long>(measured.Waiting[s][p],
                    new KeyValuePair<string, object?>("messaging.destination.name", _stages[s].Topic),
                    new KeyValuePair<string, object?>("messaging.destination.partition.id", p.ToString(CultureInfo.InvariantCulture)),
                    new KeyValuePair<string, object?>("messaging.consumer.group.name", _stages[s].Group));
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Backpressure is off (Ingest:Backlog:MaxRecordsPerPartition is 0): the API takes events however far behind the pipeline is.")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(2, LogLevel.Warning, "The backlog cannot be measured ({KafkaErrorCode}: {KafkaErrorReason}); new events are not held back until it can.")]
    private static partial void LogMeasureFailed(ILogger logger, ErrorCode kafkaErrorCode, string kafkaErrorReason);

    [LoggerMessage(3, LogLevel.Information, "The backlog is measured again.")]
    private static partial void LogMeasuringAgain(ILogger logger);

    private sealed record Stage(string Topic, string Group);

    private sealed record Measured(long[][] Waiting);

    /// <summary>
    /// The Kafka clients the measurement needs: one consumer per watched group, which only asks for
    /// the group's committed offsets and never joins it, and the partition counts, asked once.
    /// </summary>
    private sealed class Clients : IDisposable
    {
        private readonly IConsumer<byte[], byte[]>[] _byStage;
        private readonly Dictionary<string, List<TopicPartition>> _partitions = [];

        public Clients(IConfiguration configuration, Stage[] stages)
        {
            var properties = KafkaConnection.ReadClientProperties(configuration, KafkaConnection.DefaultName, "Consumer");
            _byStage = [.. stages.Select(stage => new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig(properties)
            {
                GroupId = stage.Group,
                ClientId = "pipeline-api-backlog",
                EnableAutoCommit = false,
            }).Build())];
        }

        public List<TopicPartition> Partitions(string topic)
        {
            if (!_partitions.TryGetValue(topic, out var partitions))
            {
                using var admin = new DependentAdminClientBuilder(_byStage[0].Handle).Build();
                var metadata = admin.GetMetadata(topic, BrokerTimeout).Topics.Single();
                if (metadata.Error.IsError)
                {
                    throw new KafkaException(metadata.Error);
                }

                partitions = [.. metadata.Partitions.OrderBy(p => p.PartitionId).Select(p => new TopicPartition(topic, p.PartitionId))];
                _partitions[topic] = partitions;
            }

            return partitions;
        }

        public Offset[] Committed(int stage, List<TopicPartition> partitions)
        {
            var committed = _byStage[stage].Committed(partitions, BrokerTimeout);
            return [.. partitions.Select(partition => committed.FirstOrDefault(c => c.TopicPartition == partition)?.Offset ?? Offset.Unset)];
        }

        public WatermarkOffsets Watermarks(TopicPartition partition) => _byStage[0].QueryWatermarkOffsets(partition, BrokerTimeout);

        public void Dispose()
        {
            foreach (var consumer in _byStage)
            {
                consumer.Dispose();
            }
        }
    }
}
