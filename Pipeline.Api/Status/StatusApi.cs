using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.Api.Aggregates;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Status;

/// <summary>
/// GET /api/status: ingest rate, backlog and whether the change stream is live, for dashboards
/// such as Pipeline.Web. Read-only and served from memory: it needs neither the broker nor the
/// database to answer, so it tells an outage apart from an API that is down.
/// </summary>
public static class StatusApi
{
    public const string Listening = "listening";
    public const string Reconnecting = "reconnecting";

    private const string Example = """
        { "measuredAt": "2030-01-02T03:04:05.678+00:00",
          "ingest": { "eventsPerSecond": 212.4, "windowSeconds": 10, "acceptedSinceStart": 48211 },
          "backlog": [
            { "topic": "events", "group": "pipeline-stream-processor", "waiting": 35, "maxPerPartition": 12, "limit": 2560 },
            { "topic": "aggregates", "group": "pipeline-sink", "waiting": 0, "maxPerPartition": 0, "limit": 2560 } ],
          "changeStream": "listening" }
        """;

    public static RouteGroupBuilder MapStatusApi(this RouteGroupBuilder api)
    {
        api.MapGet("/status", GetStatus)
            .WithTags("Status")
            .WithName("GetPipelineStatus")
            .WithSummary("The pipeline at a glance")
            .WithDescription(
                "The ingest rate (events acknowledged per second over the last 10 s), the records waiting on each topic for the group " +
                "that reads it (as the API's backpressure last measured them; null while the broker cannot be measured), and whether " +
                "the change stream hears the sink (`listening`) or waits for the database (`reconnecting`). Served from memory.")
            .WithResponseExample(StatusCodes.Status200OK, "application/json", Example);
        return api;
    }

    internal static async Task<Ok<PipelineStatus>> GetStatus(
        IngestRate rate, BacklogReading backlog, AggregateChangeFeed changeFeed, TimeProvider time, CancellationToken cancellationToken)
    {
        // The change feed's own health check says whether it hears the sink: no second flag to keep.
        var feed = await changeFeed.CheckHealthAsync(new HealthCheckContext(), cancellationToken);
        return TypedResults.Ok(new PipelineStatus(
            time.GetUtcNow(),
            new IngestStatus(Math.Round(rate.PerSecond(), 1), IngestRate.Seconds, rate.Total),
            backlog.Read(),
            feed.Status == HealthStatus.Healthy ? Listening : Reconnecting));
    }
}
