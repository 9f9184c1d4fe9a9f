using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pipeline.Api.Http;

namespace Pipeline.Api.Events;

/// <summary>
/// The ingest metrics: events accepted, events rejected by error code, and how long the broker took
/// to acknowledge a request's events. Requests to an ingest endpoint refused before their body is
/// read (401 for the API key, 429 for the rate limit) count as one rejection each, under their code.
/// </summary>
internal sealed class IngestMetrics
{
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _produceDuration;
    private readonly Histogram<double> _ingestDuration;

    public IngestMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ApiTelemetry.Name);
        _accepted = meter.CreateCounter<long>("pipeline.api.events.accepted", "{event}",
            "Events the broker acknowledged.");
        _rejected = meter.CreateCounter<long>("pipeline.api.events.rejected", "{event}",
            "Events not accepted, by error.type (the problem's code). A body that could not be read counts as one.");
        _produceDuration = meter.CreateHistogram<double>("pipeline.api.events.produce.duration", "s",
            "From handing a request's events to the producer to the last acknowledgement, or to the produce timeout.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _ingestDuration = meter.CreateHistogram<double>("pipeline.api.events.ingest.duration", "s",
            "From reading a request's body to its answer being decided (read, parse, checks, produce), by pipeline.ingest.endpoint; the rest of a request's time is HTTP.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
    }

    public void Ingested(string endpoint, TimeSpan duration) =>
        _ingestDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("pipeline.ingest.endpoint", endpoint));

    public void Accepted(string endpoint, int events) =>
        _accepted.Add(events, new KeyValuePair<string, object?>("pipeline.ingest.endpoint", endpoint));

    public void Rejected(string endpoint, string code, int events) =>
        _rejected.Add(Math.Max(events, 1),
            new KeyValuePair<string, object?>("pipeline.ingest.endpoint", endpoint),
            new KeyValuePair<string, object?>("error.type", code));

    /// <summary>
    /// Counts a request refused by the platform (authentication, rate limit) before the endpoint ran,
    /// if the request was for an ingest endpoint; queries refused the same way are not events.
    /// </summary>
    public static void RequestRefused(HttpContext context, string code)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<IngestEndpoint>() is { } ingest
            && context.RequestServices.GetService<IngestMetrics>() is { } metrics)
        {
            metrics.Rejected(ingest.Name, code, 1);
        }
    }

    public void Produced(string endpoint, TimeSpan duration, bool allAcknowledged)
    {
        var tags = new TagList
        {
            { "pipeline.ingest.endpoint", endpoint },
            { "pipeline.ingest.outcome", allAcknowledged ? "acknowledged" : "not-acknowledged" },
        };
        _produceDuration.Record(duration.TotalSeconds, tags);
    }
}
