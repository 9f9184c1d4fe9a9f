using System.Diagnostics.Metrics;
using Pipeline.Api.Http;

namespace Pipeline.Api.Status;

/// <summary>
/// The ingest rate the status endpoint reports: listens to this host's own
/// <c>pipeline.api.events.accepted</c> counter (so ingest needs no second hook) and keeps the
/// events acknowledged in each of the last <see cref="Seconds"/> seconds.
/// </summary>
internal sealed class IngestRate : IHostedService, IDisposable
{
    public const int Seconds = 10;

    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly long[] _buckets = new long[Seconds + 1];
    private readonly long[] _bucketSecond = new long[Seconds + 1];
    private readonly Lock _gate = new();
    private long _total;

    public IngestRate(IMeterFactory meterFactory, TimeProvider time)
    {
        _time = time;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this host's meter: tests run several hosts in one process.
            if (instrument.Meter.Name == ApiTelemetry.Name && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Name == "pipeline.api.events.accepted")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, events, _, _) => Add(events));
        _listener.Start();
    }

    /// <summary>Events acknowledged since the API started.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Events acknowledged per second, averaged over the last <see cref="Seconds"/> seconds (the current one included).</summary>
    public double PerSecond()
    {
        var now = CurrentSecond();
        long sum = 0;
        lock (_gate)
        {
            // The current second counts too, so a burst shows at once rather than a second later.
            for (var second = now - Seconds + 1; second <= now; second++)
            {
                var slot = Slot(second);
                if (_bucketSecond[slot] == second)
                {
                    sum += _buckets[slot];
                }
            }
        }

        return sum / (double)Seconds;
    }

    // A hosted service only so that it is made, and listens, when the host starts.
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();

    private void Add(long events)
    {
        Interlocked.Add(ref _total, events);
        var second = CurrentSecond();
        var slot = Slot(second);
        lock (_gate)
        {
            if (_bucketSecond[slot] != second)
            {
                _bucketSecond[slot] = second;
                _buckets[slot] = 0;
            }

            _buckets[slot] += events;
        }
    }

    private long CurrentSecond() => _time.GetUtcNow().ToUnixTimeSeconds();

    private static int Slot(long second) => (int)(second % (Seconds + 1));
}
