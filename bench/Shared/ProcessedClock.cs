using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.Bench;

/// <summary>
/// Times a stream processor by its own count of records handled
/// (<c>pipeline.stream_processor.records.processed</c> on <paramref name="meter"/>): from the first
/// record to the <paramref name="expected"/>-th, so start-up and shut-down are not counted.
/// </summary>
internal sealed class ProcessedClock : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Stopwatch _clock = new();
    private readonly ManualResetEventSlim _done = new();
    private long _processed;

    public ProcessedClock(Meter meter, long expected)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "pipeline.stream_processor.records.processed")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            var now = Interlocked.Add(ref _processed, value);
            if (now == value)
            {
                _clock.Start();
            }

            if (now >= expected && !_done.IsSet)
            {
                FirstToLast = _clock.Elapsed;
                _done.Set();
            }
        });
        _listener.Start();
    }

    /// <summary>Records handled so far.</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>From the first record handled to the last expected one; zero until then.</summary>
    public TimeSpan FirstToLast { get; private set; }

    /// <summary>Waits until every expected record is handled; false on timeout.</summary>
    public bool Wait(TimeSpan timeout) => _done.Wait(timeout);

    public void Dispose()
    {
        _listener.Dispose();
        _done.Dispose();
    }
}
