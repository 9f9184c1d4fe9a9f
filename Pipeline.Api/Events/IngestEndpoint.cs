namespace Pipeline.Api.Events;

/// <summary>
/// One of the two ingest endpoints and what sets it apart: its <c>pipeline.ingest.endpoint</c> tag
/// value, the media types it reads, how it parses a body, and what an empty body is told. Also
/// the endpoint's metadata, so that a request refused before the endpoint runs is counted under it.
/// </summary>
internal sealed class IngestEndpoint
{
    /// <summary><c>POST /api/events</c>: one event as a JSON object.</summary>
    public static IngestEndpoint Single { get; } = new(
        "single", [RequestBody.Json], "Send one event as a JSON object.",
        static (body, in rules) => EventParser.ParseSingle(body.Content, rules));

    /// <summary><c>POST /api/events/batch</c>: a JSON array, or one event per line.</summary>
    public static IngestEndpoint Batch { get; } = new(
        "batch", [RequestBody.Json, RequestBody.Ndjson], "Send a JSON array of events, or one event per line as application/x-ndjson.",
        static (body, in rules) => body.MediaType == RequestBody.Ndjson
            ? EventParser.ParseNdjson(body.Content, rules)
            : EventParser.ParseArray(body.Content, rules));

    private readonly BodyParser _parse;

    private IngestEndpoint(string name, string[] mediaTypes, string emptyBodyAdvice, BodyParser parse)
    {
        Name = name;
        MediaTypes = mediaTypes;
        EmptyBodyAdvice = emptyBodyAdvice;
        _parse = parse;
    }

    private delegate ParsedEvents BodyParser(RequestBody body, in EventRules rules);

    /// <summary>The <c>pipeline.ingest.endpoint</c> tag value.</summary>
    public string Name { get; }

    /// <summary>The media types the endpoint reads (415 for any other).</summary>
    public IReadOnlyList<string> MediaTypes { get; }

    /// <summary>The detail of a 400 <c>empty-body</c>.</summary>
    public string EmptyBodyAdvice { get; }

    /// <summary>Parses and validates every event of a body that was read.</summary>
    public ParsedEvents Parse(RequestBody body, in EventRules rules) => _parse(body, rules);
}
