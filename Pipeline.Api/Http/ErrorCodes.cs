using Pipeline.Contracts;

namespace Pipeline.Api.Http;

/// <summary>
/// Every stable error code the API answers with: the problem's <c>code</c> extension says what
/// went wrong with the request, and a validation problem's <c>errorCodes</c> say, field by field,
/// what is wrong with each event. Clients may switch on these; they never change meaning.
/// Add new codes here, with a line in <see cref="Descriptions"/>.
/// </summary>
public static class ErrorCodes
{
    // What went wrong with the request: the problem's "code".
    public const string ValidationFailed = "validation-failed";
    public const string MalformedJson = "malformed-json";
    public const string EmptyBody = "empty-body";
    public const string EmptyBatch = "empty-batch";
    public const string BatchTooLarge = "batch-too-large";
    public const string ApiKeyMissing = "api-key-missing";
    public const string ApiKeyInvalid = "api-key-invalid";
    public const string BodyTooLarge = "body-too-large";
    public const string UnsupportedMediaType = "unsupported-media-type";
    public const string RateLimited = "rate-limited";
    public const string EventsNotAcknowledged = "events-not-acknowledged";
    public const string BacklogFull = "backlog-full";
    public const string SchemaRegistryUnavailable = "schema-registry-unavailable";
    public const string BadRequest = "bad-request";
    public const string NotFound = "not-found";
    public const string MethodNotAllowed = "method-not-allowed";
    public const string InternalError = "internal-error";

    // What went wrong with a query: the problem's "code".
    public const string KeyNotFound = "key-not-found";
    public const string UnknownWindowSize = "unknown-window-size";
    public const string InvalidRange = "invalid-range";
    public const string InvalidLimit = "invalid-limit";
    public const string InvalidCursor = "invalid-cursor";
    public const string UnknownOrder = "unknown-order";
    public const string DatabaseUnavailable = "database-unavailable";
    public const string TooManyStreams = "too-many-streams";
    public const string KeyParameterRequired = "key-parameter-required";
    public const string AmbiguousKeyPath = "ambiguous-key-path";
    public const string InvalidQueryKey = "invalid-query-key";

    // What is wrong with one field of one event: the values of a validation problem's "errorCodes".
    public const string EventNotAnObject = "event.not-an-object";
    public const string BatchNotAnArray = "batch.not-an-array";
    public const string UnknownProperty = "unknown-property";
    public const string DuplicateProperty = "duplicate-property";
    public const string InvalidUnicode = EventRuleCodes.InvalidUnicode;
    public const string IdNotAString = "id.not-a-string";
    public const string IdEmpty = EventRuleCodes.IdEmpty;
    public const string IdTooLong = EventRuleCodes.IdTooLong;
    public const string IdControlCharacter = EventRuleCodes.IdControlCharacter;
    public const string IdInvisibleCharacter = EventRuleCodes.IdInvisibleCharacter;
    public const string IdWhitespaceOnly = EventRuleCodes.IdWhitespaceOnly;
    public const string KeyRequired = "key.required";
    public const string KeyNotAString = "key.not-a-string";
    public const string KeyEmpty = EventRuleCodes.KeyEmpty;
    public const string KeyTooLong = EventRuleCodes.KeyTooLong;
    public const string KeyControlCharacter = EventRuleCodes.KeyControlCharacter;
    public const string KeyInvisibleCharacter = EventRuleCodes.KeyInvisibleCharacter;
    public const string KeyWhitespaceOnly = EventRuleCodes.KeyWhitespaceOnly;
    public const string KeyNotNfc = EventRuleCodes.KeyNotNfc;
    public const string ValueRequired = "value.required";
    public const string ValueNotANumber = "value.not-a-number";
    public const string ValueNotFinite = EventRuleCodes.ValueNotFinite;
    public const string ValueOutOfRange = EventRuleCodes.ValueOutOfRange;
    public const string TimestampNotAString = "timestamp.not-a-string";
    public const string TimestampInvalidFormat = "timestamp.invalid-format";
    public const string TimestampTooOld = "timestamp.too-old";
    public const string TimestampInFuture = "timestamp.in-future";

    /// <summary>What each code means; the OpenAPI document lists them from here.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>
    {
        [ValidationFailed] = "400: one or more events are invalid; `errors` and `errorCodes` say which field of which event.",
        [MalformedJson] = "400: the body (or one NDJSON line) is not well-formed JSON (RFC 8259: no comments, trailing commas, NaN or single quotes; at most 64 levels deep).",
        [EmptyBody] = "400: the body is empty or only whitespace.",
        [EmptyBatch] = "400: the batch holds no event.",
        [BatchTooLarge] = "400: the batch holds more events than Ingest:MaxBatchSize.",
        [ApiKeyMissing] = "401: no X-Api-Key header.",
        [ApiKeyInvalid] = "401: the X-Api-Key header matches no configured key.",
        [BodyTooLarge] = "413: the body is larger than Ingest:MaxBodyBytes.",
        [UnsupportedMediaType] = "415: the Content-Type is not one the endpoint reads.",
        [RateLimited] = "429: over a rate limit: requests per API key (Api:RateLimit), events per API key for ingest (Api:RateLimit:Events), or requests without a valid key per client address (Api:RateLimit:Unauthenticated). Nothing was produced; retry after Retry-After seconds.",
        [EventsNotAcknowledged] = "503: the broker did not acknowledge some events in time; `notAcknowledged` lists them. Retry them with the same ids after Retry-After seconds.",
        [BacklogFull] = "503: the pipeline is too far behind (more records wait on a partition than Ingest:Backlog:MaxRecordsPerPartition); nothing was produced. Retry after Retry-After seconds.",
        [SchemaRegistryUnavailable] = "503: the events could not be written because the Schema Registry (Avro record format) cannot be reached to register or look up their schema; nothing was produced. Retry after Retry-After seconds.",
        [BadRequest] = "400: the HTTP request itself is malformed.",
        [NotFound] = "404: no such endpoint.",
        [MethodNotAllowed] = "405: the endpoint does not take this HTTP method.",
        [InternalError] = "500: an unexpected failure; it is logged under the problem's traceId.",
        [KeyNotFound] = "404: no event with this key has been aggregated (yet).",
        [UnknownWindowSize] = "400: `size` is not one of the window sizes the processor computes.",
        [InvalidRange] = "400: `from` or `to` is not an RFC 3339 date-time with an offset, or `from` is not before `to`.",
        [InvalidLimit] = "400: `limit` is outside what the endpoint allows.",
        [InvalidCursor] = "400: `cursor` is not the `nextCursor` of a previous page.",
        [UnknownOrder] = "400: `orderBy` is not count, sum or updatedAt.",
        [KeyParameterRequired] = "400: /api/totals and /api/windows need the key as the `key` query parameter.",
        [AmbiguousKeyPath] = "400: a key in the path holds %2F, which may be an escaped '/' or those three characters; send it as the `key` query parameter of /api/totals or /api/windows.",
        [InvalidQueryKey] = "400: the queried key breaks a rule every event key keeps (the key.* codes below), so no aggregate can have it; `detail` names the rule.",
        [TooManyStreams] = "429: this API key has Api:Streams:MaxOpenPerKey change streams open, or the API Api:Streams:MaxOpen in all; close one or retry after Retry-After seconds.",
        [DatabaseUnavailable] = "503: the database is out of reach; retry the query after Retry-After seconds (ingest is not affected).",
        [EventNotAnObject] = "The event is not a JSON object.",
        [BatchNotAnArray] = "A JSON batch body is not a JSON array.",
        [UnknownProperty] = "The event has a property the API does not know (names are case-sensitive).",
        [DuplicateProperty] = "The event has the same property twice.",
        [InvalidUnicode] = "A string holds invalid UTF-8 or an unpaired surrogate escape.",
        [IdNotAString] = "`id` is not a string (or null).",
        [IdEmpty] = "`id` is an empty string.",
        [IdTooLong] = $"`id` is longer than {PipelineEventRules.MaxIdLength} characters.",
        [IdControlCharacter] = "`id` holds a control character (NUL included).",
        [IdInvisibleCharacter] = "`id` holds an invisible or direction-changing character (bidi controls, zero-width characters, U+FEFF, U+2028, U+2029).",
        [IdWhitespaceOnly] = "`id` is only whitespace.",
        [KeyRequired] = "`key` is missing or null.",
        [KeyNotAString] = "`key` is not a string.",
        [KeyEmpty] = "`key` is an empty string.",
        [KeyTooLong] = $"`key` is longer than {PipelineEventRules.MaxKeyLength} characters.",
        [KeyControlCharacter] = "`key` holds a control character.",
        [KeyInvisibleCharacter] = "`key` holds an invisible or direction-changing character (bidi controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069; zero-width U+200B-U+200D, U+2060; U+FEFF; U+2028, U+2029).",
        [KeyWhitespaceOnly] = "`key` is only whitespace.",
        [KeyNotNfc] = "`key` is not in Unicode normalization form C (NFC); the API refuses it rather than change it. Send its NFC form.",
        [ValueRequired] = "`value` is missing or null.",
        [ValueNotANumber] = "`value` is not a JSON number (strings, booleans, objects and arrays are refused).",
        [ValueNotFinite] = "`value` does not fit a finite double.",
        [ValueOutOfRange] = FormattableString.Invariant($"`value` is beyond ±{PipelineEventRules.MaxValueMagnitude:0e0} (so that sums of events stay finite)."),
        [TimestampNotAString] = "`timestamp` is not a string (or null).",
        [TimestampInvalidFormat] = "`timestamp` is not an RFC 3339 date-time with an offset (Z or ±hh:mm).",
        [TimestampTooOld] = "`timestamp` is older than Ingest:MaxEventAge.",
        [TimestampInFuture] = "`timestamp` is further in the future than Ingest:MaxClockSkew.",
    };

    /// <summary>The request-level code of a problem answered for a bare status (404, 405, 500...).</summary>
    public static string ForStatus(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => ApiKeyMissing,
        StatusCodes.Status404NotFound => NotFound,
        StatusCodes.Status405MethodNotAllowed => MethodNotAllowed,
        StatusCodes.Status413PayloadTooLarge => BodyTooLarge,
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
        StatusCodes.Status429TooManyRequests => RateLimited,
        >= 400 and < 500 => BadRequest,
        _ => InternalError,
    };
}
