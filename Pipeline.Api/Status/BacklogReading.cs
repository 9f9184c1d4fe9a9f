using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Pipeline.Api.Events;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Status;

/// <summary>
/// Reads the backlog the API's backpressure last measured through its own gauge,
/// <c>pipeline.api.backlog</c>, so the status endpoint and the metric can never disagree.
/// </summary>
internal sealed class BacklogReading : IHostedService, IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly long? _limit;
    private Dictionary<(string Topic, string Group), (long Waiting, long Max)>? _reading;

    public BacklogReading(IMeterFactory meterFactory, IOptions<BacklogOptions> options)
    {
        _limit = options.Value.Enabled ? options.Value.MaxRecordsPerPartition : null;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ApiTelemetry.Name && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Name == "pipeline.api.backlog")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, waiting, tags, _) => Add(waiting, tags));
        _listener.Start();
    }

    /// <summary>Records waiting per topic and group; null while the backlog is not measured (broker away, or backpressure off).</summary>
    public IReadOnlyList<TopicBacklog>? Read()
    {
        lock (_gate)
        {
            _reading = [];
            _listener.RecordObservableInstruments();
            var reading = _reading;
            _reading = null;
            return reading.Count == 0
                ? null
                : [.. reading.Select(r => new TopicBacklog(r.Key.Topic, r.Key.Group, r.Value.Waiting, r.Value.Max, _limit))];
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();

    // Called on the thread that records, inside Read's lock.
    private void Add(long waiting, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_reading is not { } reading)
        {
            return;
        }

        string? topic = null, group = null;
        foreach (var tag in tags)
        {
            switch (tag.Key)
            {
                case "messaging.destination.name": topic = tag.Value as string; break;
                case "messaging.consumer.group.name": group = tag.Value as string; break;
            }
        }

        if (topic is null || group is null)
        {
            return;
        }

        var (sum, max) = reading.GetValueOrDefault((topic, group));
        reading[(topic, group)] = (sum + waiting, Math.Max(max, waiting));
    }
}
