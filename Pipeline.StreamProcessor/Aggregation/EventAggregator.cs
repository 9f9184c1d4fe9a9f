using System.Diagnostics;
using Confluent.Kafka;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.State;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// What every <see cref="EventAggregator"/> of a topology is made with. Given
/// <paramref name="ChangelogWatermarks"/>, each task checks that its restored state is whole
/// before it runs (<see cref="StateCompleteness"/>), reporting a refusal to <paramref name="Loss"/>.
/// Given <paramref name="Dedupe"/>, the tasks' remembered event ids stay within its bound.
/// </summary>
internal sealed record AggregatorBlueprint(
    AggregationSettings Settings,
    StreamProcessorMetrics Metrics,
    ILogger Logger,
    Func<TopicPartition, WatermarkOffsets>? ChangelogWatermarks = null,
    RecordLoss? Loss = null,
    PipelineRecordFormat? RecordFormat = null,
    DedupeBudget? Dedupe = null)
{
    /// <summary>How events are read and aggregates written: JSON unless told otherwise.</summary>
    public PipelineRecordFormat Format => RecordFormat ?? PipelineRecordFormat.Json;
}

/// <summary>
/// The heart of the processor: one instance per task (partition of the events topic) turns
/// events into aggregates, exactly once per event, and emits each update only once it is durable.
/// It orders the parts that do the work: <see cref="KeyStates"/> (state per key),
/// <see cref="EventIdRegistry"/> (dedupe), <see cref="StreamClock"/> and <see cref="WindowCloser"/>
/// (windows), <see cref="UpdateEmitter"/> (durable before visible) and <see cref="StateCompleteness"/>
/// (recovery).
/// <para>
/// Exactly once without transactions. Delivery is at-least-once: after a crash the task
/// restores its stores from their changelogs and re-reads events from the last committed
/// offset. The state of a key is one store record holding all its aggregates and the highest
/// source offset applied to it, so a re-read event at or below that offset is skipped, and one
/// above it was never applied. Ids are remembered separately, keyed by event key and id, with
/// the offset they were first seen at: a second sighting at another offset is a duplicate; one
/// at the same offset is this processor's own attempt whose key record the crash lost.
/// </para>
/// <para>
/// Durable before visible. State changes collect in memory and are written when the task
/// flushes, right before Streamiz waits for every produced record to be acknowledged and
/// commits the offsets. What that flush wrote is then durable, and only that is emitted, on
/// the next punctuation. Whatever the aggregates topic shows is therefore at or behind what
/// a restarted task restores: versions never go back, a version always means the same numbers,
/// and a final record is never followed by a different one.
/// </para>
/// <para>
/// Windows close when their end plus grace is reached by stream time (the largest event
/// timestamp seen on the partition, kept in the store, but never more than
/// <c>Aggregation:MaxEventLead</c> ahead of the wall clock) or by the wall clock, whichever
/// comes first. The punctuator closes them even when no event arrives. Each key remembers the end of
/// its newest closed window per size, so a late event is refused for good, also after a restart.
/// </para>
/// </summary>
internal sealed partial class EventAggregator : ITransformer<SourceKey, byte[], byte[], ProcessorOutput>
{
    private const string StreamTimeRecord = "mstream-time";
    private const string ServiceName = "pipeline-stream-processor";

    private readonly AggregatorBlueprint? _blueprint;

    private ProcessorContext<byte[], ProcessorOutput> _context = null!;
    private ProcessorStore _store = null!;
    private ProcessorStore _idStore = null!;
    private TaskLifecycle _lifecycle = null!;
    private KeyStates _keys = null!;
    private EventIdRegistry _eventIds = null!;
    private StreamClock _clock = null!;
    private WindowCloser _windows = null!;
    private UpdateEmitter _updates = null!;
    private bool _recovered;

    /// <summary>Only for Streamiz's builder, which wants a parameterless constructor; tasks get the other one.</summary>
    public EventAggregator()
    {
    }

    public EventAggregator(AggregatorBlueprint blueprint)
    {
        _blueprint = blueprint;
    }

    private AggregatorBlueprint Blueprint =>
        _blueprint ?? throw new InvalidOperationException("An EventAggregator needs an AggregatorBlueprint.");

    private AggregationSettings Settings => Blueprint.Settings;
    private StreamProcessorMetrics Metrics => Blueprint.Metrics;

    public void Init(ProcessorContext<byte[], ProcessorOutput> context)
    {
        _context = context;
        _store = (ProcessorStore)context.GetStateStore(StreamProcessorTopology.AggregatesStore);
        _lifecycle = TaskLifecycle.Of(context);
        _keys = new KeyStates(_store);
        _idStore = (ProcessorStore)context.GetStateStore(StreamProcessorTopology.EventIdsStore);
        _eventIds = new EventIdRegistry(_idStore.Records, Settings.DedupeWindow,
            Blueprint.Dedupe, context.Id.ToString());
        _clock = new StreamClock(Settings.MaxEventLead);
        _windows = new WindowCloser(Settings.Grace);
        _updates = new UpdateEmitter(context, Metrics, Blueprint.Format);
        _store.OnFlush(ThreadCommit.WriteAll);
        _idStore.OnFlush(ThreadCommit.WriteAll);
        ThreadCommit.Join(this);
        context.Schedule(Settings.PunctuationInterval, PunctuationType.PROCESSING_TIME, Punctuate);
    }

    public Record<byte[], ProcessorOutput>? Process(Record<SourceKey, byte[]> record)
    {
        // Streamiz processes records only for running tasks, whose stores are fully restored.
        Recover();
        Metrics.RecordsProcessed.Add(1);
        var source = record.TopicPartitionOffset;
        using var activity = StreamProcessorTelemetry.ActivitySource.StartProcessActivity(source, record.Headers, _context.ApplicationId);

        if (!EventReader.TryRead(Blueprint.Format, record.Key.Bytes, record.Value, out var accepted, out var rejection))
        {
            activity?.SetTag("pipeline.outcome", "dead-letter");
            DeadLetter(record, rejection!);
            return null;
        }

        var now = _context.WallClockTime;
        Metrics.ProcessingLag.Record(Math.Max(0, now - accepted.TimestampMs) / 1000.0);
        _clock.Advance(accepted.TimestampMs, now);
        var offset = source.Offset.Value;
        var state = _keys.Load(accepted.Key);

        if (offset <= state.LastAppliedOffset)
        {
            // Read again after a restart; its effect is already in the key's record.
            _eventIds.EnsureRemembered(accepted.Key, accepted.Id, offset, _clock.StreamTime);
            Metrics.ReplayedEvents.Add(1);
            activity?.SetTag("pipeline.outcome", "replayed");
            return null;
        }

        if (_eventIds.IsDuplicate(accepted.Key, accepted.Id, offset, _clock.StreamTime))
        {
            Metrics.DuplicateEvents.Add(1);
            activity?.SetTag("pipeline.outcome", "duplicate");
            return null;
        }

        Apply(accepted, offset, state, now, activity?.Context ?? KafkaTelemetry.ExtractTraceContext(record.Headers));
        activity?.SetTag("pipeline.outcome", "counted");
        return null;
    }

    public void Close()
    {
        _eventIds?.Release();
        _store?.OnFlush(null);
        _idStore?.OnFlush(null);
        ThreadCommit.Leave(this);
    }

    private void Apply(AcceptedEvent accepted, long offset, KeyState state, long now, ActivityContext trace)
    {
        var closeClock = _clock.CloseClock(now);
        foreach (var size in Settings.Windows)
        {
            var start = size.StartOf(accepted.TimestampMs);
            var end = start + size.Milliseconds;
            if (_windows.IsClosed(state, size.Milliseconds, end, closeClock))
            {
                Metrics.LateEvents.Add(1, new KeyValuePair<string, object?>("pipeline.window.size", size.Name));
                continue;
            }

            var window = state.Window(size, start, out var created);
            window.Add(accepted.Value, offset, now, trace, accepted.TimestampMs);
            if (created)
            {
                _windows.Opened(accepted.Key, end);
            }
        }

        state.AllTime().Add(accepted.Value, offset, now, trace, accepted.TimestampMs);
        state.LastAppliedOffset = offset;
        _keys.Changed(accepted.Key);
    }

    private void Punctuate(long timestamp)
    {
        if (!_recovered)
        {
            if (!_lifecycle.IsRunning)
            {
                return;
            }

            Recover();
        }

        var now = _context.WallClockTime;
        _updates.SendCaptured(_keys);
        if (_windows.CloseDue(_keys, _clock.CloseClock(now), now))
        {
            // No record may come to make the task commit; finals must not wait for one.
            _context.Commit();
        }

        _eventIds.ForgetExpired(_clock.StreamTime);
        _keys.TrimCache();
    }

    /// <summary>Called (through <see cref="ThreadCommit"/>) at the start of a flush, just before a commit.</summary>
    internal void WriteChanges()
    {
        _keys.WriteChanged(_updates.Capture);
        _eventIds.WriteRemembered();
        if (_clock.Changed)
        {
            _store.Records.Put(StreamTimeRecord, StateCodec.WriteLong(_clock.StreamTime));
            _clock.Written();
        }
    }

    /// <summary>
    /// Once per task, when its stores are restored: finds what the store holds that is not
    /// settled yet (open windows to close, durable updates never emitted) and the event ids to
    /// forget later. Everything in the store at this point came from the changelogs (restored over
    /// what a persistent store kept on disk); a task whose state cannot be whole does not get past
    /// this point (<see cref="StateCompleteness"/>).
    /// </summary>
    private void Recover()
    {
        if (_recovered)
        {
            return;
        }

        if (_store.Records.Get(StreamTimeRecord) is { } streamTime)
        {
            _clock.Restore(StateCodec.ReadLong(streamTime));
        }

        var keyCount = 0;
        foreach (var (key, state) in _keys.Stored())
        {
            keyCount++;
            var unsettled = false;
            foreach (var aggregate in state.Aggregates.ToList())
            {
                if (aggregate.Version > aggregate.EmittedVersion)
                {
                    _updates.Capture(key, aggregate);
                    unsettled = true;
                }
                else if (aggregate.Final)
                {
                    state.Aggregates.Remove(aggregate);
                    _keys.Keep(key, state);
                    _keys.Changed(key);
                    unsettled = true;
                }

                if (!aggregate.IsAllTime && !aggregate.Final)
                {
                    _windows.Opened(key, aggregate.EndMs);
                    unsettled = true;
                }
            }

            if (unsettled)
            {
                _keys.Keep(key, state);
            }
        }

        var eventIdCount = _eventIds.Recover(_clock.StreamTime);
        if (Blueprint.ChangelogWatermarks is { } watermarks)
        {
            StateCompleteness.Verify(
                new StateCompleteness.TaskState(_context.ApplicationId, _context.Id.Partition, _context.StateDir, _store.Persistent, keyCount > 0 || eventIdCount > 0),
                watermarks,
                Blueprint.Loss);
        }

        // Only now: a task whose state was refused above must never get past this point.
        _recovered = true;
        LogRecovered(Blueprint.Logger, _context.Id.ToString(), keyCount, _windows.Waiting, _updates.Pending, _eventIds.Remembered);
    }

    private void DeadLetter(Record<SourceKey, byte[]> record, Rejection rejection)
    {
        var source = record.TopicPartitionOffset;
        _context.SetHeaders(DeadLetterRecords.Headers(record.Headers, source, ServiceName, rejection.Reason, rejection.Detail));
        _context.Forward(record.Key.Bytes!, new ProcessorOutput(Topics.DeadLetter, record.Value));
        Metrics.DeadLettered.Add(1, new KeyValuePair<string, object?>("dead_letter.reason", rejection.Reason));
        LogDeadLettered(Blueprint.Logger, source.Topic, source.Partition.Value, source.Offset.Value, rejection.Reason, rejection.Detail);
    }

    [LoggerMessage(1, LogLevel.Warning, "Dead-lettered the record at {Topic}[{Partition}]@{Offset}: {Reason} ({Detail})")]
    private static partial void LogDeadLettered(ILogger logger, string topic, int partition, long offset, string reason, string detail);

    [LoggerMessage(2, LogLevel.Information, "Task {TaskId} recovered {KeyCount} keys from its store: {ClosingWindows} open windows, {PendingUpdates} updates to emit, {EventIds} event ids remembered")]
    private static partial void LogRecovered(ILogger logger, string taskId, int keyCount, int closingWindows, int pendingUpdates, int eventIds);
}
