using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// The producer <c>AddKafkaProducer</c> registers, replaced by a new one when it fails fatally.
/// A fatal error (an idempotent producer that can no longer keep its sequence, for one) leaves
/// a librdkafka producer unable to send anything again; the only cure is a new producer. Ask
/// for <see cref="Current"/> at each use rather than keeping it.
/// </summary>
public sealed partial class RenewingKafkaProducer<TKey, TValue> : IDisposable
{
    // Calls already under way on a replaced producer (a health check, a produce) finish first.
    private static readonly TimeSpan RetiredProducerGrace = TimeSpan.FromSeconds(10);

    private readonly Func<Action<IProducer<TKey, TValue>, Error>, IProducer<TKey, TValue>> _build;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private IProducer<TKey, TValue> _current;
    private bool _disposed;

    /// <param name="build">Builds a producer that reports its errors to the given handler.</param>
    /// <param name="logger">Where renewals are logged.</param>
    public RenewingKafkaProducer(Func<Action<IProducer<TKey, TValue>, Error>, IProducer<TKey, TValue>> build, ILogger logger)
    {
        _build = build;
        _logger = logger;
        _current = build(OnError);
    }

    /// <summary>The producer to use now.</summary>
    public IProducer<TKey, TValue> Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>How many times the producer has been replaced.</summary>
    public int Renewals { get; private set; }

    /// <summary>The fatal error that last made a producer be replaced.</summary>
    public Error? LastFatalError { get; private set; }

    /// <summary>
    /// Replaces <paramref name="failed"/> by a new producer if <paramref name="error"/> is fatal
    /// (reported as such, or a produce refused with <c>Local_Fatal</c>), unless it has been
    /// replaced already. librdkafka's own error reports come here; callers that see an error
    /// themselves pass it on too.
    /// </summary>
    public void RenewIfFatal(IProducer<TKey, TValue> failed, Error error)
    {
        if (!error.IsFatal && error.Code != ErrorCode.Local_Fatal)
        {
            return;
        }

        IProducer<TKey, TValue> retired;
        lock (_gate)
        {
            if (_disposed || !ReferenceEquals(failed, _current))
            {
                return;
            }

            retired = _current;
            _current = _build(OnError);
            Renewals++;
            LastFatalError = error;
        }

        LogRenewed(_logger, error.Code, error.Reason, retired.Name, Renewals);
        _ = Task.Delay(RetiredProducerGrace).ContinueWith(_ => retired.Dispose(), TaskScheduler.Default);
    }

    /// <summary>Disposes the current producer (replaced ones are disposed as they retire).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _current.Dispose();
    }

    private void OnError(IProducer<TKey, TValue> producer, Error error) => RenewIfFatal(producer, error);

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "The Kafka producer failed fatally ({KafkaErrorCode}: {KafkaErrorReason}); {RetiredClient} is replaced by a new producer (renewal {Renewals}). Records it had not delivered are reported as failed.")]
    private static partial void LogRenewed(ILogger logger, ErrorCode kafkaErrorCode, string kafkaErrorReason, string retiredClient, int renewals);
}
