using System.Diagnostics.Metrics;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// The processor's topology in Streamiz's TopologyTestDriver: events in, aggregate updates and
/// dead letters out, a controllable wall clock, and the processor's own metrics. Updates leave
/// only after a commit made them durable and a punctuation sent them: <see cref="Settle"/> does both.
/// </summary>
internal sealed class ProcessorDriver : IDisposable
{
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<byte[], byte[]> _events;
    private readonly TestOutputTopic<byte[], byte[]> _aggregates;
    private readonly TestOutputTopic<byte[], byte[]> _deadLetters;
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _measurements = [];
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), "processor-tests-" + Guid.NewGuid().ToString("N"));

    /// <param name="options">The aggregation settings under test.</param>
    /// <param name="stateStore">The store kind.</param>
    /// <param name="eventsInTheFuture">
    /// Most tests stamp their events in <see cref="FutureHour"/>, a month ahead of the wall clock,
    /// so that stream time alone closes windows; for them stream time may lead the wall clock by
    /// a year (<c>Aggregation:MaxEventLead</c>). False keeps the configured lead.
    /// </param>
    /// <param name="format">The record format of events and aggregates: JSON unless given.</param>
    /// <param name="dedupeMaxIds">Above 0, the dedupe memory bound (<c>Aggregation:DedupeMaxIds</c>), reporting to <paramref name="logger"/>.</param>
    /// <param name="logger">Where the processor's logs go (none by default).</param>
    public ProcessorDriver(AggregationOptions? options = null, StateStoreKind stateStore = StateStoreKind.InMemory, bool eventsInTheFuture = true,
        PipelineRecordFormat? format = null, int dedupeMaxIds = 0, ILogger? logger = null)
    {
        Format = format ?? PipelineRecordFormat.Json;
        options ??= new AggregationOptions();
        if (eventsInTheFuture)
        {
            options.MaxEventLead = "365d";
        }

        Settings = AggregationSettings.From(options);
        Meter = new Meter(StreamProcessorTelemetry.Name);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, Meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (_measurements)
            {
                var name = instrument.Name;
                foreach (var tag in tags)
                {
                    name += $"|{tag.Key}={tag.Value}";
                }

                _measurements[instrument.Name] = _measurements.GetValueOrDefault(instrument.Name) + value;
                if (name != instrument.Name)
                {
                    _measurements[name] = _measurements.GetValueOrDefault(name) + value;
                }
            }
        });
        _listener.Start();

        // The mock wall clock starts at the real time when the driver is made.
        WallClockStart = DateTimeOffset.UtcNow;
        Dedupe = dedupeMaxIds > 0 ? new DedupeBudget(dedupeMaxIds, Settings.DedupeWindow, Meter, logger ?? NullLogger.Instance) : null;
        var blueprint = new AggregatorBlueprint(Settings, new StreamProcessorMetrics(Meter), logger ?? NullLogger.Instance, RecordFormat: Format, Dedupe: Dedupe);
        var config = new StreamConfig
        {
            ApplicationId = "processor-tests",
            DefaultKeySerDes = new ByteArraySerDes(),
            DefaultValueSerDes = new ByteArraySerDes(),
            StateDir = _stateDirectory,
        };
        _driver = new TopologyTestDriver(AggregationTopology.Build(blueprint, stateStore), config);
        _events = _driver.CreateInputTopic(Topics.Events, new ByteArraySerDes(), new ByteArraySerDes());
        _aggregates = _driver.CreateOutputTopic(Topics.Aggregates, TimeSpan.FromMilliseconds(50), new ByteArraySerDes(), new ByteArraySerDes());
        _deadLetters = _driver.CreateOutputTopic(Topics.DeadLetter, TimeSpan.FromMilliseconds(50), new ByteArraySerDes(), new ByteArraySerDes());
    }

    public AggregationSettings Settings { get; }

    public PipelineRecordFormat Format { get; }

    /// <summary>The dedupe memory bound, when one was given.</summary>
    public DedupeBudget? Dedupe { get; }

    public Meter Meter { get; }

    public DateTimeOffset WallClockStart { get; }

    /// <summary>A time far enough ahead of the wall clock that only stream time closes its windows, on an hour boundary.</summary>
    public DateTimeOffset FutureHour
    {
        get
        {
            var ahead = WallClockStart.AddDays(30);
            return new DateTimeOffset(ahead.Year, ahead.Month, ahead.Day, ahead.Hour, 0, 0, TimeSpan.Zero);
        }
    }

    public void Send(string key, double value, DateTimeOffset timestamp, string? id = null, Headers? headers = null) =>
        Send(new PipelineEvent(id ?? Guid.NewGuid().ToString("N"), key, value, timestamp), headers);

    public void Send(PipelineEvent pipelineEvent, Headers? headers = null) =>
        _events.PipeInput(Encoding.UTF8.GetBytes(pipelineEvent.Key), Format.WriteEvent(pipelineEvent), pipelineEvent.Timestamp.UtcDateTime, headers);

    public void SendRaw(byte[]? key, byte[]? value, Headers? headers = null) =>
        _events.PipeInput(key!, value!, WallClockStart.UtcDateTime, headers);

    /// <summary>Commits (the flush makes pending state durable) and lets a punctuation send it.</summary>
    public IReadOnlyList<AggregateRecord> Settle()
    {
        _driver.Commit();
        AdvanceWallClock(Settings.PunctuationInterval);
        return ReadAggregates();
    }

    /// <summary>
    /// Moves the wall clock on. TopologyTestDriver keeps moving it by a tenth of the step while
    /// punctuations run, so a large step lands somewhat further than asked.
    /// </summary>
    public void AdvanceWallClock(TimeSpan step) => _driver.AdvanceWallClockTime(step);

    public void Commit() => _driver.Commit();

    public IReadOnlyList<AggregateRecord> ReadAggregates() =>
        ReadAggregateRecords().Select(record => Format.ReadAggregate(record.Message.Value).Message ?? throw new InvalidOperationException("Not an aggregate: " + Format.ReadAggregate(record.Message.Value).Detail)).ToList();

    public IReadOnlyList<ConsumeResult<byte[], byte[]>> ReadAggregateRecords() => _aggregates.ReadKeyValueList().ToList();

    public IReadOnlyList<ConsumeResult<byte[], byte[]>> ReadDeadLetters() => _deadLetters.ReadKeyValueList().ToList();

    public long Measured(string instrument, string? tag = null)
    {
        lock (_measurements)
        {
            return _measurements.GetValueOrDefault(tag is null ? instrument : $"{instrument}|{tag}");
        }
    }

    public void Dispose()
    {
        _driver.Dispose();
        _listener.Dispose();
        Meter.Dispose();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }
}
