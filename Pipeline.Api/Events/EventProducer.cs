using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Pipeline.Api.Http;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Api.Events;

/// <summary>What became of a request's events: for each, acknowledged (with partition and offset) or not.</summary>
internal sealed class ProduceOutcome(IReadOnlyList<PipelineEvent> events, bool[] acknowledged, int[] partitions, long[] offsets)
{
    public IReadOnlyList<PipelineEvent> Events { get; } = events;

    public int AcknowledgedCount { get; } = acknowledged.Count(ack => ack);

    public bool AllAcknowledged => AcknowledgedCount == Events.Count;

    public bool IsAcknowledged(int index) => acknowledged[index];

    public int PartitionOf(int index) => partitions[index];

    public EventAccepted Accepted(int index) => new(Events[index].Id, partitions[index], offsets[index]);

    public IReadOnlyList<NotAcknowledgedEvent> NotAcknowledged() =>
        Enumerable.Range(0, Events.Count).Where(i => !acknowledged[i]).Select(i => new NotAcknowledgedEvent(i, Events[i].Id)).ToList();
}

/// <summary>
/// Produces a request's events to the events topic and waits, at most Ingest:ProduceTimeout, for
/// the broker to acknowledge each one. The producer is idempotent with acks=all, so an
/// acknowledgement means the record is durably in Kafka; an event without one is reported as not
/// acknowledged and may or may not be in Kafka. One <c>send events</c> span covers the request, and
/// every record carries its trace context. An event whose fate is learned after the answer (a late
/// delivery or failure) is logged, so "answered 503 but written" is visible. A producer that fails
/// fatally is replaced (<see cref="RenewingKafkaProducer{TKey, TValue}"/>): the requests it fails
/// get a 503, and the next ones go to the new producer.
/// </summary>
internal sealed partial class EventProducer(
    RenewingKafkaProducer<string, byte[]> producers,
    IOptions<IngestOptions> options,
    IngestMetrics metrics,
    PipelineRecordFormat recordFormat,
    ILogger<EventProducer> logger)
{
    private static readonly TimeSpan QueueFullBackoff = TimeSpan.FromMilliseconds(5);

    public async Task<ProduceOutcome> ProduceAsync(IReadOnlyList<PipelineEvent> events, string endpoint)
    {
        // Never a blocked thread per request while the first ones wait for the Schema Registry.
        await recordFormat.PrepareEventWritesAsync();
        var producer = producers.Current;
        var timeout = options.Value.ProduceTimeout;
        var started = Stopwatch.GetTimestamp();
        using var activity = ApiTelemetry.ActivitySource.StartSendActivity(Topics.Events);
        if (activity is not null)
        {
            activity.SetTag("messaging.client.id", producer.Name);
            if (events.Count > 1)
            {
                activity.SetTag("messaging.batch.message_count", events.Count);
            }
        }

        // One header set for all records: Confluent copies headers into each native message. The
        // client's baggage header stays out: 8 KB of it would be copied into each of 10,000 records.
        var headers = new Headers();
        KafkaTelemetry.InjectTraceContextWithoutBaggage(activity?.Context ?? Activity.Current?.Context ?? default, headers);

        var traceId = Activity.Current?.TraceId.ToString() ?? "";
        var delivery = new Delivery(this, producer, events.Count, traceId);
        using var deadline = new CancellationTokenSource(timeout);
        for (var i = 0; i < events.Count; i++)
        {
            var pipelineEvent = events[i];
            var message = new Message<string, byte[]>
            {
                Key = pipelineEvent.Key,
                Value = recordFormat.WriteEvent(pipelineEvent),
                Timestamp = new Timestamp(pipelineEvent.Timestamp),
                Headers = headers,
            };
            if (!await TryEnqueueAsync(producer, message, delivery, i, deadline.Token))
            {
                // The deadline passed while librdkafka's queue was full: the rest were never sent.
                for (var rest = i; rest < events.Count; rest++)
                {
                    delivery.NotSent(rest);
                }

                break;
            }
        }

        try
        {
            await delivery.Settled.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            // The produce timeout: whatever is still pending is answered as not acknowledged.
        }

        var outcome = delivery.Close(events);
        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.Produced(endpoint, elapsed, outcome.AllAcknowledged);
        if (!outcome.AllAcknowledged)
        {
            var error = delivery.FirstError?.Reason ?? "no acknowledgement in time";
            activity?.SetStatus(ActivityStatusCode.Error, error);
            activity?.SetTag("error.type", delivery.FirstError?.Code.ToString() ?? "timeout");
            var notWritten = delivery.NotWritten();
            LogNotAcknowledged(events.Count - outcome.AcknowledgedCount, events.Count, timeout, traceId,
                notWritten, events.Count - outcome.AcknowledgedCount - notWritten, error);
        }

        return outcome;
    }

    private async ValueTask<bool> TryEnqueueAsync(
        IProducer<string, byte[]> producer, Message<string, byte[]> message, Delivery delivery, int index, CancellationToken deadline)
    {
        while (true)
        {
            try
            {
                producer.Produce(Topics.Events, message, report => delivery.Report(index, report.Error, report.Status, report.TopicPartitionOffset));
                return true;
            }
            catch (ProduceException<string, byte[]> exception) when (exception.Error.Code == ErrorCode.Local_QueueFull)
            {
                try
                {
                    await Task.Delay(QueueFullBackoff, deadline);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
            catch (KafkaException exception)
            {
                NoteError(producer, exception.Error);
                delivery.NotSent(index, exception.Error);
                return true;
            }
            catch (ObjectDisposedException)
            {
                // The API is shutting down.
                delivery.NotSent(index, new Error(ErrorCode.Local_Destroy));
                return true;
            }
        }
    }

    // librdkafka reports a fatal error on its own too; a produce refused for one may come first.
    private void NoteError(IProducer<string, byte[]> producer, Error error) => producers.RenewIfFatal(producer, error);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{NotAcknowledged} of {Count} events were not acknowledged by the broker within {ProduceTimeout} (trace {TraceId}): " +
            "{NotWritten} certainly not written, {Unknown} of unknown fate; {Error}")]
    private partial void LogNotAcknowledged(int notAcknowledged, int count, TimeSpan produceTimeout, string traceId, int notWritten, int unknown, string error);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "The {Abandoned} events of unknown fate answered in trace {TraceId} were settled later: " +
            "{Delivered} written after the answer, {LateNotWritten} certainly not written, {LateUnknown} possibly written")]
    private partial void LogLateOutcome(int abandoned, string traceId, int delivered, int lateNotWritten, int lateUnknown);

    /// <summary>
    /// The fate of one request's events. Delivery reports arrive on librdkafka's thread; each
    /// event's state changes once, by compare-and-swap, so a report racing the timeout is either
    /// counted in the answer or logged as late, never both. A failed record is "certainly not
    /// written" when librdkafka says NotPersisted (it never reached the broker, or the broker
    /// refused it); a timeout while the record was in flight is PossiblyPersisted.
    /// </summary>
    private sealed class Delivery
    {
        private const int Pending = 0;
        private const int Acknowledged = 1;
        private const int Failed = 2;
        private const int Abandoned = 3;
        private const int NotWrittenFailure = 4;

        private readonly EventProducer _owner;
        private readonly IProducer<string, byte[]> _producer;
        private readonly int _count;
        private readonly string _traceId;
        private readonly int[] _states;
        private readonly int[] _partitions;
        private readonly long[] _offsets;
        private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _pending;
        private int _abandonedOpen;
        private int _abandonedTotal;
        private int _lateDelivered;
        private int _lateNotWritten;
        private int _lateUnknown;
        private Error? _firstError;

        public Delivery(EventProducer owner, IProducer<string, byte[]> producer, int count, string traceId)
        {
            _owner = owner;
            _producer = producer;
            _count = count;
            _traceId = traceId;
            _states = new int[count];
            _partitions = new int[count];
            _offsets = new long[count];
            _pending = count;
        }

        public Task Settled => _count == 0 ? Task.CompletedTask : _settled.Task;

        public Error? FirstError => Volatile.Read(ref _firstError);

        /// <summary>
        /// How many events failed, before the answer, without reaching Kafka. Read from the events'
        /// states, which are final once <see cref="Close"/> has run (a count kept beside them could be
        /// read between a report's state change and its increment).
        /// </summary>
        public int NotWritten()
        {
            var notWritten = 0;
            for (var i = 0; i < _count; i++)
            {
                notWritten += Volatile.Read(ref _states[i]) == NotWrittenFailure ? 1 : 0;
            }

            return notWritten;
        }

        public void Report(int index, Error error, PersistenceStatus status, TopicPartitionOffset? position)
        {
            var acknowledged = !error.IsError;
            if (acknowledged && position is not null)
            {
                _partitions[index] = position.Partition.Value;
                _offsets[index] = position.Offset.Value;
            }

            var settled = acknowledged ? Acknowledged : status == PersistenceStatus.NotPersisted ? NotWrittenFailure : Failed;
            if (Interlocked.CompareExchange(ref _states[index], settled, Pending) == Pending)
            {
                if (!acknowledged)
                {
                    Interlocked.CompareExchange(ref _firstError, error, null);
                    _owner.NoteError(_producer, error);
                }

                if (Interlocked.Decrement(ref _pending) == 0)
                {
                    _settled.TrySetResult();
                }

                return;
            }

            // The request was answered before this report came.
            if (acknowledged)
            {
                Interlocked.Increment(ref _lateDelivered);
            }
            else if (status == PersistenceStatus.NotPersisted)
            {
                Interlocked.Increment(ref _lateNotWritten);
            }
            else
            {
                Interlocked.Increment(ref _lateUnknown);
            }

            if (Interlocked.Decrement(ref _abandonedOpen) == 0)
            {
                LogLateOutcome();
            }
        }

        /// <summary>An event that was never handed to librdkafka.</summary>
        public void NotSent(int index, Error? error = null) =>
            Report(index, error ?? new Error(ErrorCode.Local_MsgTimedOut, "The producer's queue stayed full until the produce timeout."),
                PersistenceStatus.NotPersisted, position: null);

        /// <summary>Ends the wait: every event still pending is abandoned, and its later report logged.</summary>
        public ProduceOutcome Close(IReadOnlyList<PipelineEvent> events)
        {
            Interlocked.Increment(ref _abandonedOpen); // held until every pending event is abandoned
            for (var i = 0; i < _count; i++)
            {
                Interlocked.Increment(ref _abandonedOpen);
                if (Interlocked.CompareExchange(ref _states[i], Abandoned, Pending) == Pending)
                {
                    _abandonedTotal++;
                }
                else
                {
                    Interlocked.Decrement(ref _abandonedOpen);
                }
            }

            if (Interlocked.Decrement(ref _abandonedOpen) == 0 && _abandonedTotal > 0)
            {
                LogLateOutcome();
            }

            var acknowledged = new bool[_count];
            for (var i = 0; i < _count; i++)
            {
                acknowledged[i] = Volatile.Read(ref _states[i]) == Acknowledged;
            }

            return new ProduceOutcome(events, acknowledged, _partitions, _offsets);
        }

        private void LogLateOutcome() =>
            _owner.LogLateOutcome(Volatile.Read(ref _abandonedTotal), _traceId,
                Volatile.Read(ref _lateDelivered), Volatile.Read(ref _lateNotWritten), Volatile.Read(ref _lateUnknown));
    }
}
