using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Events;

// The shapes of the events endpoints' requests and answers. EventSubmission only documents the
// request: bodies are read by hand (EventParser) to give field-level errors with stable codes.

/// <summary>One event as a client sends it.</summary>
[NoAdditionalProperties]
public sealed class EventSubmission
{
    // The limits come from PipelineEventRules, which the stream processor checks too.
    [Description("The event's id, 1-128 characters: no control characters (NUL included), no invisible or direction-changing characters (bidi controls, zero-width characters, U+FEFF, U+2028, U+2029), not only whitespace. Sending the same id again is safe: the stream processor counts an id once. The server makes a UUID when absent.")]
    [StringLength(PipelineEventRules.MaxIdLength, MinimumLength = 1)]
    public string? Id { get; init; }

    [Description("The key the event is aggregated by, 1-256 characters: no control characters, no invisible or direction-changing characters (bidi controls, zero-width characters, U+FEFF, U+2028, U+2029), not only whitespace, and in Unicode NFC (a key in another form is refused, not normalised). One key's events stay in order.")]
    [StringLength(PipelineEventRules.MaxKeyLength, MinimumLength = 1)]
    public required string Key { get; init; }

    [Description("A JSON number from -1e300 to 1e300 (not a string, not null); beyond that, sums of events could overflow.")]
    [Range(-PipelineEventRules.MaxValueMagnitude, PipelineEventRules.MaxValueMagnitude)]
    public required double Value { get; init; }

    [Description("When the event happened: RFC 3339 with an offset, e.g. 2025-01-31T12:00:00Z; at most Ingest:MaxEventAge (7 days) old and Ingest:MaxClockSkew (5 minutes) ahead. Default: the time the API received it.")]
    public DateTimeOffset? Timestamp { get; init; }
}

/// <summary>The answer to one accepted event: where it is in Kafka.</summary>
public sealed record EventAccepted(
    [property: Description("The event's id: the client's, or the one the server made.")] string Id,
    [property: Description("The partition of the events topic it was written to.")] int Partition,
    [property: Description("Its offset in that partition.")] long Offset);

/// <summary>The answer to an accepted batch: every event is in Kafka.</summary>
public sealed record BatchAccepted(
    [property: Description("How many events were acknowledged by the broker: all of them.")] int Accepted,
    [property: Description("The events' ids, in request order.")] IReadOnlyList<string> Ids);

/// <summary>One event the broker did not acknowledge in time.</summary>
public sealed record NotAcknowledgedEvent(
    [property: Description("Its position in the request (0 for the single-event endpoint).")] int Index,
    [property: Description("Its id; retry with this id so that it is counted once.")] string Id);

/// <summary>The 400 answer when events are invalid: errors by field, as messages and as stable codes.</summary>
public sealed class EventValidationProblem : HttpValidationProblemDetails
{
    /// <summary>For each field in <see cref="HttpValidationProblemDetails.Errors"/>, the stable codes of its errors, in the same order.</summary>
    [JsonPropertyName("errorCodes")]
    [Description("For each field in errors, the stable codes of its errors, in the same order.")]
    public IDictionary<string, string[]> Codes { get; set; } = new Dictionary<string, string[]>(StringComparer.Ordinal);

    /// <summary>How many errors were found; only the first 100 are listed.</summary>
    [Description("How many errors were found; only the first 100 are listed.")]
    public int ErrorCount { get; set; }
}

/// <summary>The 503 answer when the broker did not acknowledge every event within Ingest:ProduceTimeout.</summary>
public sealed class EventsNotAcknowledgedProblem : ProblemDetails
{
    /// <summary>The events without an acknowledgement; they may or may not be in Kafka.</summary>
    [Description("The events without an acknowledgement: they may or may not be in Kafka. Retry them with the same ids.")]
    public IReadOnlyList<NotAcknowledgedEvent> NotAcknowledged { get; set; } = [];

    /// <summary>How many of the request's events were acknowledged (they are in Kafka).</summary>
    [Description("How many of the request's events were acknowledged: those are in Kafka.")]
    public int Acknowledged { get; set; }
}
