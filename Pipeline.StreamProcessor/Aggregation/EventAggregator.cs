using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Pipeline.ServiceDefaults.Contracts;
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
/// </summary>
internal sealed record AggregatorBlueprint(
    AggregationSettings Settings,
    StreamProcessorMetrics Metrics,
    ILogger Logger,
    Func<TopicPartition, WatermarkOffsets>? ChangelogWatermarks = null,
    RecordLoss? Loss = null);

/// <summary>
/// The heart of the processor: one instance per task (partition of the events topic) turns
/// events into aggregates, exactly once per event, and emits each update only once it is durable.
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
internal sealed class EventAggregator : ITransformer<SourceKey, byte[], byte[], ProcessorOutput>
{
    /// <summary>Holds at most this many clean key states in memory; beyond it they are read back from the store.</summary>
    internal const int MaxCachedKeys = 100_000;

    private const string KeyRecordPrefix = "k";
    private const string StreamTimeRecord = "mstream-time";
    private const string ServiceName = "Pipeline.StreamProcessor";

    private readonly AggregatorBlueprint? _blueprint;
    private readonly Dictionary<string, KeyState> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _closing = new();
    private readonly PriorityQueue<string, long> _eventIdExpiry = new();
    private readonly Dictionary<(string Key, long SizeMs, long StartMs), DurableUpdate> _durable = [];

    private ProcessorContext<byte[], ProcessorOutput> _context = null!;
    private AggregateStore _store = null!;
    private IKeyValueStore<string, byte[]> _eventIds = null!;
    private TaskLifecycle _lifecycle = null!;
    private long _streamTime = -1;
    private bool _streamTimeChanged;
    private long _clock = long.MinValue;
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
    private long GraceMs => (long)Settings.Grace.TotalMilliseconds;
    private long DedupeMs => (long)Settings.DedupeWindow.TotalMilliseconds;
    private bool Dedupes => DedupeMs > 0;

    public void Init(ProcessorContext<byte[], ProcessorOutput> context)
    {
        _context = context;
        _store = (AggregateStore)context.GetStateStore(StreamProcessorTopology.AggregatesStore);
        _eventIds = (IKeyValueStore<string, byte[]>)context.GetStateStore(StreamProcessorTopology.EventIdsStore);
        _lifecycle = TaskLifecycle.Of(context);
        _store.OnFlush(ThreadCommit.WriteAll);
        ThreadCommit.Join(this);
        context.Schedule(Settings.PunctuationInterval, PunctuationType.PROCESSING_TIME, Punctuate);
    }

    public Record<byte[], ProcessorOutput>? Process(Record<SourceKey, byte[]> record)
    {
        // Streamiz processes records only for running tasks, whose stores are fully restored.
        Recover();
        Metrics.RecordsProcessed.Add(1);
        var source = record.TopicPartitionOffset;
        var parent = KafkaTelemetry.ExtractTraceContext(record.Headers);
        using var activity = StreamProcessorTelemetry.ActivitySource.StartActivity($"process {source.Topic}", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.operation.name", "process");
        activity?.SetTag("messaging.destination.name", source.Topic);
        activity?.SetTag("messaging.consumer.group.name", _context.ApplicationId);
        activity?.SetTag("messaging.destination.partition.id", source.Partition.Value.ToString(CultureInfo.InvariantCulture));
        activity?.SetTag("messaging.kafka.offset", source.Offset.Value);

        if (!EventReader.TryRead(record.Key.Bytes, record.Value, out var accepted, out var rejection))
        {
            activity?.SetTag("pipeline.outcome", "dead-letter");
            DeadLetter(record, rejection!);
            return null;
        }

        var now = WallClock();
        Metrics.ProcessingLag.Record(Math.Max(0, now - accepted.TimestampMs) / 1000.0);
        AdvanceStreamTime(Math.Min(accepted.TimestampMs, now + (long)Settings.MaxEventLead.TotalMilliseconds));
        var offset = source.Offset.Value;
        var state = Load(accepted.Key);
        var eventIdKey = EventIdKey(accepted.Key, accepted.Id);

        if (offset <= state.LastAppliedOffset)
        {
            // Read again after a restart; its effect is already in the key's record. Its id may
            // not have reached the id store before the crash, so make sure it is remembered.
            if (Dedupes && _eventIds.Get(eventIdKey) is null)
            {
                RememberEventId(eventIdKey, offset);
            }

            Metrics.ReplayedEvents.Add(1);
            activity?.SetTag("pipeline.outcome", "replayed");
            return null;
        }

        if (Dedupes)
        {
            var seen = _eventIds.Get(eventIdKey);
            var expired = false;
            if (seen is not null)
            {
                var (firstOffset, firstSeenMs) = StateCodec.ReadEventId(seen);
                expired = _streamTime > firstSeenMs + DedupeMs;
                if (firstOffset != offset && !expired)
                {
                    Metrics.DuplicateEvents.Add(1);
                    activity?.SetTag("pipeline.outcome", "duplicate");
                    return null;
                }
            }

            // A sighting at this very offset is our own attempt from before a crash: apply it.
            if (seen is null || expired)
            {
                RememberEventId(eventIdKey, offset);
            }
        }

        Apply(accepted, offset, state, now, activity?.Context ?? parent);
        activity?.SetTag("pipeline.outcome", "counted");
        return null;
    }

    public void Close()
    {
        _store?.OnFlush(null);
        ThreadCommit.Leave(this);
    }

    private void Apply(AcceptedEvent accepted, long offset, KeyState state, long now, ActivityContext trace)
    {
        var closeClock = CloseClock(now);
        foreach (var size in Settings.Windows)
        {
            var start = size.StartOf(accepted.TimestampMs);
            var end = start + size.Milliseconds;
            if (end <= state.ClosedThroughFor(size.Milliseconds) || end + GraceMs <= closeClock)
            {
                Metrics.LateEvents.Add(1, new KeyValuePair<string, object?>("pipeline.window.size", size.Name));
                continue;
            }

            var window = state.Window(size, start, out var created);
            window.Add(accepted.Value, offset, now, trace, accepted.TimestampMs);
            if (created)
            {
                _closing.Enqueue(accepted.Key, end + GraceMs);
            }
        }

        state.AllTime().Add(accepted.Value, offset, now, trace, accepted.TimestampMs);
        state.LastAppliedOffset = offset;
        _dirty.Add(accepted.Key);
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

        var now = WallClock();
        EmitDurableUpdates();
        CloseDueWindows(now);
        ForgetExpiredEventIds();
        TrimCache();
    }

    /// <summary>Sends what the last flush made durable, and notes in each key that it was sent.</summary>
    private void EmitDurableUpdates()
    {
        if (_durable.Count == 0)
        {
            return;
        }

        foreach (var ((key, sizeMs, startMs), update) in _durable)
        {
            Emit(update);
            var state = Load(key);
            var aggregate = state.Aggregates.Find(a => a.SizeMs == sizeMs && a.StartMs == startMs);
            if (aggregate is null)
            {
                continue;
            }

            aggregate.EmittedVersion = Math.Max(aggregate.EmittedVersion, update.Record.Version);
            if (aggregate.Final && aggregate.EmittedVersion >= aggregate.Version)
            {
                // Its final record is out; the key's closed-through mark keeps the window shut.
                state.Aggregates.Remove(aggregate);
            }

            // Written with the key's next change or the next commit; if lost, the update is sent again.
            _dirty.Add(key);
        }

        _durable.Clear();
    }

    private void Emit(DurableUpdate update)
    {
        var record = update.Record;
        using var activity = StreamProcessorTelemetry.ActivitySource.StartActivity($"send {Topics.Aggregates}", ActivityKind.Producer, update.LastEvent);
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.operation.type", "send");
        activity?.SetTag("messaging.operation.name", "send");
        activity?.SetTag("messaging.destination.name", Topics.Aggregates);
        activity?.SetTag("pipeline.aggregate.version", record.Version);

        var headers = new Headers();
        KafkaTelemetry.InjectTraceContext(activity?.Context ?? update.LastEvent, headers);
        if (!record.Final && update.EventTimestampMs is { } eventTime)
        {
            // A final record is caused by its window closing, not by an event: no freshness to measure.
            headers.Add(AggregateHeaders.EventTime, Encoding.UTF8.GetBytes(eventTime.ToString(CultureInfo.InvariantCulture)));
        }

        _context.SetHeaders(headers);
        _context.ChangeTimestamp(record.UpdatedAt.ToUnixTimeMilliseconds());
        _context.Forward(PipelineJson.Serialize(record.Id), new ProcessorOutput(Topics.Aggregates, PipelineJson.Serialize(record)));
        Metrics.AggregatesEmitted.Add(1, new KeyValuePair<string, object?>("final", record.Final));
    }

    private void CloseDueWindows(long now)
    {
        var closeClock = CloseClock(now);
        var closedAny = false;
        while (_closing.TryPeek(out var key, out var dueAt) && dueAt <= closeClock)
        {
            _closing.Dequeue();
            var state = Load(key);
            foreach (var aggregate in state.Aggregates)
            {
                if (!aggregate.IsAllTime && !aggregate.Final && aggregate.EndMs + GraceMs <= closeClock)
                {
                    aggregate.Close(now);
                    state.MarkClosed(aggregate);
                    _dirty.Add(key);
                    closedAny = true;
                }
            }
        }

        if (closedAny)
        {
            // No record may come to make the task commit; finals must not wait for one.
            _context.Commit();
        }
    }

    private void ForgetExpiredEventIds()
    {
        while (_eventIdExpiry.TryPeek(out var eventIdKey, out var expiresAt) && expiresAt < _streamTime)
        {
            _eventIdExpiry.Dequeue();
            // The id may have been seen again since (an expired one is remembered anew): check.
            var seen = _eventIds.Get(eventIdKey);
            if (seen is not null && StateCodec.ReadEventId(seen).TimestampMs + DedupeMs < _streamTime)
            {
                _eventIds.Delete(eventIdKey);
            }
        }
    }

    private void TrimCache()
    {
        if (_keys.Count <= MaxCachedKeys)
        {
            return;
        }

        foreach (var key in _keys.Keys.Where(key => !_dirty.Contains(key)).ToList())
        {
            _keys.Remove(key);
        }
    }

    /// <summary>Called (through <see cref="ThreadCommit"/>) at the start of a flush, just before a commit.</summary>
    internal void WriteChanges()
    {
        foreach (var key in _dirty)
        {
            var state = _keys[key];
            _store.Records.Put(KeyRecordPrefix + key, StateCodec.Write(state));
            foreach (var aggregate in state.Aggregates)
            {
                if (aggregate.Version > aggregate.CapturedVersion)
                {
                    aggregate.CapturedVersion = aggregate.Version;
                    _durable[(key, aggregate.SizeMs, aggregate.StartMs)] = DurableUpdate.Of(key, aggregate);
                }
            }
        }

        _dirty.Clear();
        if (_streamTimeChanged)
        {
            _store.Records.Put(StreamTimeRecord, StateCodec.WriteLong(_streamTime));
            _streamTimeChanged = false;
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
            _streamTime = Math.Max(_streamTime, StateCodec.ReadLong(streamTime));
        }

        var keyCount = 0;
        foreach (var (recordKey, bytes) in _store.Records.All())
        {
            if (!recordKey.StartsWith(KeyRecordPrefix, StringComparison.Ordinal) || bytes is null)
            {
                continue;
            }

            keyCount++;
            var key = recordKey[KeyRecordPrefix.Length..];
            var state = StateCodec.ReadKeyState(bytes);
            var unsettled = false;
            foreach (var aggregate in state.Aggregates.ToList())
            {
                if (aggregate.Version > aggregate.EmittedVersion)
                {
                    _durable[(key, aggregate.SizeMs, aggregate.StartMs)] = DurableUpdate.Of(key, aggregate);
                    unsettled = true;
                }
                else if (aggregate.Final)
                {
                    state.Aggregates.Remove(aggregate);
                    _dirty.Add(key);
                    unsettled = true;
                }

                if (!aggregate.IsAllTime && !aggregate.Final)
                {
                    _closing.Enqueue(key, aggregate.EndMs + GraceMs);
                    unsettled = true;
                }
            }

            if (unsettled)
            {
                _keys.TryAdd(key, state);
            }
        }

        var eventIdCount = 0;
        foreach (var (eventIdKey, bytes) in _eventIds.All())
        {
            if (bytes is not null)
            {
                eventIdCount++;
                if (Dedupes)
                {
                    _eventIdExpiry.Enqueue(eventIdKey, StateCodec.ReadEventId(bytes).TimestampMs + DedupeMs);
                }
            }
        }

        if (Blueprint.ChangelogWatermarks is { } watermarks)
        {
            StateCompleteness.Verify(
                new StateCompleteness.TaskState(_context.ApplicationId, _context.Id.Partition, _context.StateDir, _store.Persistent, keyCount > 0 || eventIdCount > 0),
                watermarks,
                Blueprint.Loss);
        }

        // Only now: a task whose state was refused above must never get past this point.
        _recovered = true;
        Log.Recovered(Blueprint.Logger, _context.Id.ToString(), keyCount, _closing.Count, _durable.Count, _eventIdExpiry.Count);
    }

    private KeyState Load(string key)
    {
        if (!_keys.TryGetValue(key, out var state))
        {
            var bytes = _store.Records.Get(KeyRecordPrefix + key);
            state = bytes is null ? new KeyState() : StateCodec.ReadKeyState(bytes);
            _keys[key] = state;
        }

        return state;
    }

    // An id is remembered from the stream time at which it was first seen, not from its own
    // timestamp: a late event (stamped hours ago) retried by its client a second later must
    // still be recognised, or it would be counted twice in its all-time totals.
    private void RememberEventId(string eventIdKey, long offset)
    {
        _eventIds.Put(eventIdKey, StateCodec.WriteEventId(offset, _streamTime));
        _eventIdExpiry.Enqueue(eventIdKey, _streamTime + DedupeMs);
    }

    private void AdvanceStreamTime(long timestampMs)
    {
        if (timestampMs > _streamTime)
        {
            _streamTime = timestampMs;
            _streamTimeChanged = true;
        }
    }

    private long WallClock() => _context.WallClockTime;

    /// <summary>The time windows close by: stream time or wall clock, whichever is ahead, never going back.</summary>
    private long CloseClock(long now)
    {
        _clock = Math.Max(_clock, Math.Max(now, _streamTime));
        return _clock;
    }

    private void DeadLetter(Record<SourceKey, byte[]> record, Rejection rejection)
    {
        var source = record.TopicPartitionOffset;
        var headers = new Headers();
        if (record.Headers is not null)
        {
            foreach (var header in record.Headers)
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        AddText(headers, DeadLetterHeaders.Reason, rejection.Reason);
        AddText(headers, DeadLetterHeaders.Detail, rejection.Detail);
        AddText(headers, DeadLetterHeaders.Service, ServiceName);
        AddText(headers, DeadLetterHeaders.SourceTopic, source.Topic);
        AddText(headers, DeadLetterHeaders.SourcePartition, source.Partition.Value.ToString(CultureInfo.InvariantCulture));
        AddText(headers, DeadLetterHeaders.SourceOffset, source.Offset.Value.ToString(CultureInfo.InvariantCulture));
        _context.SetHeaders(headers);
        _context.Forward(record.Key.Bytes!, new ProcessorOutput(Topics.DeadLetter, record.Value));
        Metrics.DeadLettered.Add(1, new KeyValuePair<string, object?>("dead_letter.reason", rejection.Reason));
        Log.DeadLettered(Blueprint.Logger, source.Topic, source.Partition.Value, source.Offset.Value, rejection.Reason, rejection.Detail);
    }

    private static void AddText(Headers headers, string key, string value) => headers.Add(key, Encoding.UTF8.GetBytes(value));

    /// <summary>The id store's key: the event key's length first, so no two (key, id) pairs collide.</summary>
    private static string EventIdKey(string key, string id) =>
        string.Create(CultureInfo.InvariantCulture, $"{key.Length}:{key}{id}");

    /// <summary>An aggregate as it was when a flush wrote it, waiting for the next punctuation to be sent.</summary>
    private sealed record DurableUpdate(AggregateRecord Record, ActivityContext LastEvent, long? EventTimestampMs)
    {
        public static DurableUpdate Of(string key, AggregateState aggregate)
        {
            var windowStart = aggregate.IsAllTime ? WindowNames.AllTimeStart : DateTimeOffset.FromUnixTimeMilliseconds(aggregate.StartMs);
            DateTimeOffset? windowEnd = aggregate.IsAllTime ? null : DateTimeOffset.FromUnixTimeMilliseconds(aggregate.EndMs);
            var window = aggregate.IsAllTime ? WindowNames.AllTime : Durations.Format(TimeSpan.FromMilliseconds(aggregate.SizeMs));
            var total = aggregate.Total;
            return new DurableUpdate(
                new AggregateRecord(
                    key,
                    window,
                    windowStart,
                    windowEnd,
                    aggregate.Count,
                    total,
                    aggregate.Min,
                    aggregate.Max,
                    total / aggregate.Count,
                    aggregate.Final,
                    aggregate.Version,
                    DateTimeOffset.FromUnixTimeMilliseconds(aggregate.UpdatedAtMs)),
                aggregate.LastEvent,
                aggregate.LastEventTimestampMs);
        }
    }
}
