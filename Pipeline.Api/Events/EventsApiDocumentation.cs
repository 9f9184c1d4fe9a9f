using Pipeline.Api.Http;

namespace Pipeline.Api.Events;

/// <summary>What the OpenAPI document says about the ingest endpoints: their promise, examples and every error.</summary>
internal static class EventsApiDocumentation
{
    private const string PromiseOf202 =
        "A 202 is a promise: every event of the request is durably in Kafka (idempotent producer, acks=all, delivery report received). ";

    private const string RetrySafety =
        "Sending the same id again is not an error: the stream processor counts an id once, so a client may retry safely. " +
        "Send your own ids if you may retry; otherwise use the ids the answer (202 or 503) gives you.";

    public static RouteHandlerBuilder DocumentPostEvent(this RouteHandlerBuilder endpoint) => endpoint
        .WithSummary("Send one event")
        .WithDescription(PromiseOf202 +
            "The record's key is the event key (one key's events stay in order on one partition), its value the event as JSON, " +
            "its timestamp the event timestamp, and its headers carry the trace context. " + RetrySafety)
        .WithRequestBody<EventSubmission>(RequestBody.Json)
        .WithRequestExample(RequestBody.Json, "full", "Every field", new { id = "sensor-7-000123", key = "sensor-7", value = 21.5, timestamp = "2025-01-31T12:00:00Z" })
        .WithRequestExample(RequestBody.Json, "minimal", "Key and value only: the server makes the id and uses the time of receipt", new { key = "sensor-7", value = 21.5 })
        .Produces<EventAccepted>(StatusCodes.Status202Accepted)
        .WithResponseDocumentation(StatusCodes.Status202Accepted, "The event is in Kafka, at this partition and offset.",
            new EventAccepted("sensor-7-000123", 2, 41873))
        .DocumentIngestErrors(
            exampleField: "value",
            badRequestCases: "Invalid events (validation-failed: errors and errorCodes by field), malformed JSON (malformed-json), an empty body (empty-body)",
            mediaTypes: "application/json");

    public static RouteHandlerBuilder DocumentPostBatch(this RouteHandlerBuilder endpoint) => endpoint
        .WithSummary("Send a batch of events")
        .WithDescription(
            "A JSON array of events (application/json) or one event per line (application/x-ndjson; blank lines are skipped), " +
            "up to Ingest:MaxBatchSize events (10,000 by default). Every event is validated before any is produced: one invalid " +
            "event rejects the whole request with errors keyed by index (\"[3].value\") and nothing is produced. " +
            "Then all events are produced. " + PromiseOf202 +
            "If the broker does not acknowledge some within Ingest:ProduceTimeout, the answer is 503 listing the events that were " +
            "not acknowledged (index and id): the acknowledged ones are in Kafka, the listed ones may or may not be. Retrying the " +
            "listed events with the same ids is safe because the stream processor counts an id once. " + RetrySafety)
        .WithRequestBody<EventSubmission[]>(RequestBody.Json, RequestBody.Ndjson)
        .WithRequestExample(RequestBody.Json, "array", "A JSON array", new object[]
        {
            new { id = "sensor-7-000124", key = "sensor-7", value = 21.5, timestamp = "2025-01-31T12:00:00Z" },
            new { key = "sensor-9", value = -3 },
        })
        .WithRequestExample(RequestBody.Ndjson, "ndjson", "One event per line",
            "{\"id\":\"sensor-7-000124\",\"key\":\"sensor-7\",\"value\":21.5,\"timestamp\":\"2025-01-31T12:00:00Z\"}\n{\"key\":\"sensor-9\",\"value\":-3}\n")
        .Produces<BatchAccepted>(StatusCodes.Status202Accepted)
        .WithResponseDocumentation(StatusCodes.Status202Accepted, "Every event is in Kafka.",
            new BatchAccepted(2, ["sensor-7-000124", "0194b7b2-6c1e-7d3a-9f1c-3a5e2b7c9d01"]))
        .DocumentIngestErrors(
            exampleField: "[1].value",
            badRequestCases: "Invalid events (validation-failed: errors and errorCodes by field, keyed by index), malformed JSON (malformed-json), " +
                "an empty body (empty-body), an empty batch (empty-batch) or more than Ingest:MaxBatchSize events (batch-too-large)",
            mediaTypes: "application/json or application/x-ndjson");

    private static RouteHandlerBuilder DocumentIngestErrors(this RouteHandlerBuilder endpoint, string exampleField, string badRequestCases, string mediaTypes)
    {
        var validation = ApiPlatform.Example(StatusCodes.Status400BadRequest, ErrorCodes.ValidationFailed,
            "One or more events are invalid.", "1 error(s) in a request of 2 event(s); nothing was produced.");
        var validationExample = new Dictionary<string, object?>(((IDictionary<string, object?>)validation))
        {
            ["errors"] = new Dictionary<string, string[]> { [exampleField] = ["'value' must be a JSON number (not a string, boolean, object or array)."] },
            ["errorCodes"] = new Dictionary<string, string[]> { [exampleField] = [ErrorCodes.ValueNotANumber] },
            ["errorCount"] = 1,
        };
        var notAcknowledged = new Dictionary<string, object?>((IDictionary<string, object?>)ApiPlatform.Example(
            StatusCodes.Status503ServiceUnavailable, ErrorCodes.EventsNotAcknowledged,
            "The broker did not acknowledge every event in time.",
            "1 of 2 events were not acknowledged within 10 s; they may or may not be in Kafka. The 1 acknowledged events are in Kafka. " +
            "Retry the events listed in notAcknowledged, with the same ids, after Retry-After seconds: the stream processor counts an id once."))
        {
            ["notAcknowledged"] = new[] { new NotAcknowledgedEvent(1, "0194b7b2-6c1e-7d3a-9f1c-3a5e2b7c9d01") },
            ["acknowledged"] = 1,
        };

        return endpoint
            .Produces<EventValidationProblem>(StatusCodes.Status400BadRequest, ApiProblems.ContentType)
            .WithResponseDocumentation(StatusCodes.Status400BadRequest,
                badRequestCases + ". Nothing was produced.",
                validationExample)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithResponseDocumentation(StatusCodes.Status413PayloadTooLarge, "The body is larger than Ingest:MaxBodyBytes (body-too-large). Nothing was produced.")
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithResponseDocumentation(StatusCodes.Status415UnsupportedMediaType,
                "The Content-Type is not " + mediaTypes + " with UTF-8 (unsupported-media-type). Nothing was produced.")
            .Produces<EventsNotAcknowledgedProblem>(StatusCodes.Status503ServiceUnavailable, ApiProblems.ContentType)
            .WithResponseDocumentation(StatusCodes.Status503ServiceUnavailable,
                "The broker did not acknowledge every event within Ingest:ProduceTimeout (events-not-acknowledged). " +
                "notAcknowledged lists them (index and id): they may or may not be in Kafka; the others are. " +
                "Retry the listed events with the same ids after Retry-After seconds; the stream processor counts an id once. " +
                "Or the pipeline is too far behind (backlog-full): more records wait on a partition than Ingest:Backlog:MaxRecordsPerPartition, " +
                "and nothing was produced; send the same request again after Retry-After seconds.",
                notAcknowledged);
    }
}
