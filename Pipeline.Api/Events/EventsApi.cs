using Microsoft.AspNetCore.Http.HttpResults;

namespace Pipeline.Api.Events;

/// <summary>The ingest endpoints: <c>POST /api/events</c> and <c>POST /api/events/batch</c>; their OpenAPI text is in <see cref="EventsApiDocumentation"/>.</summary>
public static class EventsApi
{
    public static RouteGroupBuilder MapEventsApi(this IEndpointRouteBuilder api)
    {
        var events = api.MapGroup("/events").WithTags("Events");

        events.MapPost("", PostEvent)
            .WithName("PostEvent")
            .WithMetadata(IngestEndpoint.Single)
            .DocumentPostEvent();

        events.MapPost("/batch", PostBatch)
            .WithName("PostEventBatch")
            .WithMetadata(IngestEndpoint.Batch)
            .DocumentPostBatch();

        return events;
    }

    internal static Task<Results<Accepted<EventAccepted>, ProblemHttpResult>> PostEvent(HttpRequest request, EventIngest ingest) =>
        ingest.IngestAsync(request, IngestEndpoint.Single, outcome => outcome.Accepted(0));

    internal static Task<Results<Accepted<BatchAccepted>, ProblemHttpResult>> PostBatch(HttpRequest request, EventIngest ingest) =>
        ingest.IngestAsync(request, IngestEndpoint.Batch, outcome => new BatchAccepted(outcome.Events.Count, outcome.Events.Select(e => e.Id).ToList()));
}
