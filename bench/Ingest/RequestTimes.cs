using System.Diagnostics.Metrics;

namespace Pipeline.Bench.Ingest;

/// <summary>
/// Where an ingest request's time goes (single events, or batches), read from the in-process API's own instruments while
/// one phase runs: the ingest handler's duration (read the body, parse, check, produce,
/// <c>pipeline.api.events.ingest.duration</c>) and within it the produce duration (hand-over to
/// librdkafka until the delivery report, <c>pipeline.api.events.produce.duration</c>). Means, so
/// that parts add up.
/// </summary>
internal sealed class RequestTimes : IDisposable
{
    private readonly MeterListener _listener = new();
    private double _serverSeconds;
    private long _serverCount;
    private double _produceSeconds;
    private long _produceCount;

    public RequestTimes(string endpoint = "single")
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "pipeline.api.events.ingest.duration" or "pipeline.api.events.produce.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            var single = false;
            foreach (var tag in tags)
            {
                single |= tag.Key == "pipeline.ingest.endpoint" && tag.Value as string == endpoint;
            }

            if (!single)
            {
                return;
            }

            lock (_listener)
            {
                if (instrument.Name == "pipeline.api.events.ingest.duration")
                {
                    _serverSeconds += value;
                    _serverCount++;
                }
                else
                {
                    _produceSeconds += value;
                    _produceCount++;
                }
            }
        });
        _listener.Start();
    }

    /// <summary>Mean time in the ingest handler, from reading the body to the decided answer, in ms.</summary>
    public double ServerMs
    {
        get { lock (_listener) { return _serverCount == 0 ? double.NaN : 1000 * _serverSeconds / _serverCount; } }
    }

    /// <summary>Mean time from handing the event to librdkafka to its delivery report, in ms.</summary>
    public double ProduceMs
    {
        get { lock (_listener) { return _produceCount == 0 ? double.NaN : 1000 * _produceSeconds / _produceCount; } }
    }

    public void Dispose() => _listener.Dispose();
}
