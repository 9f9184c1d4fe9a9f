using System.ComponentModel;
using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Aggregates;

/// <summary>GET /api/aggregates/...: a key's all-time totals, its windows, and a live stream of changes.</summary>
public static class AggregatesApi
{
    public const int DefaultWindowLimit = 100;
    public const int MaxWindowLimit = 1000;

    private const string AnyKey =
        "Takes the key as the `key` query parameter, so that every key that can be written can be read: " +
        "one that holds '/', is '.' or '..', is 'stream', or holds '%2F' has no path of its own under /api/aggregates. ";

    private const string SelectTotals = """
        SELECT key, count, sum, min, max, mean, updated_at FROM aggregate_totals WHERE key = @key
        """;

    // Served by the primary key (key, window_size, window_start): one index range scan in window order.
    private const string SelectWindows = """
        SELECT window_start, window_end, count, sum, min, max, mean, final, updated_at
        FROM window_aggregates
        WHERE key = @key AND window_size = @size
          AND window_start >= COALESCE(@from, '-infinity'::timestamptz)
          AND window_start < COALESCE(@to, 'infinity'::timestamptz)
          AND window_start > COALESCE(@after, '-infinity'::timestamptz)
        ORDER BY window_start
        LIMIT @limit
        """;

    public static RouteGroupBuilder MapAggregateEndpoints(this RouteGroupBuilder api)
    {
        var aggregates = api.MapGroup("/aggregates").WithTags("Aggregates").AddEndpointFilter<DatabaseOutageFilter>();

        // Mapped before {key}: a literal segment wins over a parameter, so /aggregates/stream is the stream.
        aggregates.MapGet("/stream", StreamChanges)
            .WithName("StreamAggregateChanges")
            .WithSummary("Streams aggregate changes as Server-Sent Events")
            .WithDescription(
                "Pushes one `aggregate` event per changed aggregate (all-time totals and windows) as soon as the sink commits it, " +
                "filtered to one key when `key` is given. A `heartbeat` event is sent at once and then every 15 seconds. " +
                "Changes are not replayed: a client that reconnects reads current figures from the other endpoints.")
            .Produces<AggregateChange>(StatusCodes.Status200OK, "text/event-stream")
            .WithResponseDocumentation(StatusCodes.Status429TooManyRequests,
                "Over the request rate limit (rate-limited), or too many streams open for this API key or in all (too-many-streams). Retry-After says when to retry.")
            .WithResponseExample(StatusCodes.Status200OK, "text/event-stream", OpenApiExamples.ChangeEvent);

        aggregates.MapRead("/{key}", GetTotals)
            .WithName("GetAggregateTotals")
            .WithSummary("All-time totals of a key")
            .WithDescription("Count, sum, min, max and mean of every event ever posted with this key.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithResponseExample(StatusCodes.Status200OK, "application/json", OpenApiExamples.Totals)
            .WithResponseExample(StatusCodes.Status404NotFound, "application/problem+json", OpenApiExamples.KeyNotFound);

        aggregates.MapRead("/{key}/windows", GetWindows)
            .WithName("GetAggregateWindows")
            .WithSummary("A key's windows of one size")
            .WithDescription(
                "The key's windows of one size whose start lies in [from, to), ordered by windowStart, a page at a time. " +
                "Pass the `nextCursor` of a page as `cursor` to get the next one; it is null on the last page. " +
                "A key with no windows in the range answers an empty page.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithIntegerParameter("limit", 1, MaxWindowLimit)
            .WithResponseExample(StatusCodes.Status200OK, "application/json", OpenApiExamples.Windows)
            .WithResponseExample(StatusCodes.Status400BadRequest, "application/problem+json", OpenApiExamples.UnknownSize);

        // Any key at all, in the query string: a key a path cannot carry ("stream", "a/b", "." or "..") is read here.
        api.MapRead("/totals", GetTotalsOfAnyKey)
            .WithTags("Aggregates")
            .WithName("GetTotalsOfAnyKey")
            .WithSummary("All-time totals of any key, named in the query string")
            .WithDescription(AnyKey + "The same answer as `GET /api/aggregates/{key}`.")
            .AddEndpointFilter<DatabaseOutageFilter>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithResponseExample(StatusCodes.Status200OK, "application/json", OpenApiExamples.Totals);

        api.MapRead("/windows", GetWindowsOfAnyKey)
            .WithTags("Aggregates")
            .WithName("GetWindowsOfAnyKey")
            .WithSummary("Windows of any key, named in the query string")
            .WithDescription(AnyKey + "The same answer, and the same cursors, as `GET /api/aggregates/{key}/windows`.")
            .AddEndpointFilter<DatabaseOutageFilter>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithIntegerParameter("limit", 1, MaxWindowLimit)
            .WithResponseExample(StatusCodes.Status200OK, "application/json", OpenApiExamples.Windows);

        return api;
    }

    public static Task<Results<Ok<AggregateTotals>, ProblemHttpResult>> GetTotals(
        [Description("The event key, one path segment. A key that holds '/', is '.' or '..', is 'stream', or holds '%2F' is read with GET /api/totals?key=.")] string key,
        NpgsqlDataSource dataSource,
        CancellationToken cancellationToken) =>
        (AmbiguousInPath(key) ?? NeverWritten(key)) is { } refused
            ? Task.FromResult<Results<Ok<AggregateTotals>, ProblemHttpResult>>(refused)
            : ReadTotalsAsync(key, dataSource, cancellationToken);

    public static Task<Results<Ok<AggregateTotals>, ProblemHttpResult>> GetTotalsOfAnyKey(
        [Description("The event key, any key (escape it as a query value).")] string? key,
        NpgsqlDataSource dataSource,
        CancellationToken cancellationToken) =>
        (string.IsNullOrEmpty(key) ? KeyParameterRequired() : NeverWritten(key)) is { } refused
            ? Task.FromResult<Results<Ok<AggregateTotals>, ProblemHttpResult>>(refused)
            : ReadTotalsAsync(key!, dataSource, cancellationToken);

    public static Task<Results<Ok<WindowPage>, ProblemHttpResult>> GetWindows(
        [Description("The event key, one path segment. A key that holds '/', is '.' or '..', or holds '%2F' is read with GET /api/windows?key=.")] string key,
        [AsParameters] WindowQuery query,
        NpgsqlDataSource dataSource,
        WindowCursors cursors,
        CancellationToken cancellationToken) =>
        (AmbiguousInPath(key) ?? NeverWritten(key)) is { } refused
            ? Task.FromResult<Results<Ok<WindowPage>, ProblemHttpResult>>(refused)
            : ReadWindowsAsync(key, query, dataSource, cursors, cancellationToken);

    public static Task<Results<Ok<WindowPage>, ProblemHttpResult>> GetWindowsOfAnyKey(
        [Description("The event key, any key (escape it as a query value).")] string? key,
        [AsParameters] WindowQuery query,
        NpgsqlDataSource dataSource,
        WindowCursors cursors,
        CancellationToken cancellationToken) =>
        (string.IsNullOrEmpty(key) ? KeyParameterRequired() : NeverWritten(key)) is { } refused
            ? Task.FromResult<Results<Ok<WindowPage>, ProblemHttpResult>>(refused)
            : ReadWindowsAsync(key!, query, dataSource, cursors, cancellationToken);

    private static async Task<Results<Ok<AggregateTotals>, ProblemHttpResult>> ReadTotalsAsync(string key, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SelectTotals);
        command.Parameters.Add(new NpgsqlParameter<string>("key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return AggregateProblems.KeyNotFound(key);
        }

        return TypedResults.Ok(ReadTotals(reader));
    }

    private static async Task<Results<Ok<WindowPage>, ProblemHttpResult>> ReadWindowsAsync(
        string key, WindowQuery query, NpgsqlDataSource dataSource, WindowCursors cursors, CancellationToken cancellationToken)
    {
        var (size, from, to, limit, cursor) = (query.Size ?? QueryParameters.WindowSizes[0], query.From, query.To, query.Limit, query.Cursor);
        if (!QueryParameters.WindowSizes.Contains(size))
        {
            return AggregateProblems.BadRequest(ErrorCodes.UnknownWindowSize, $"Unknown window size '{size}'; known sizes: {string.Join(", ", QueryParameters.WindowSizes)}.");
        }

        if (!QueryParameters.TryParseInstant(from, out var fromInstant) || !QueryParameters.TryParseInstant(to, out var toInstant))
        {
            return AggregateProblems.BadRequest(ErrorCodes.InvalidRange, "from and to must be RFC 3339 date-times with an offset, e.g. 2030-01-02T03:00:00Z.");
        }

        if (fromInstant is not null && toInstant is not null && fromInstant >= toInstant)
        {
            return AggregateProblems.BadRequest(ErrorCodes.InvalidRange, "from must be before to.");
        }

        if (!QueryParameters.TryParseLimit(limit, DefaultWindowLimit, MaxWindowLimit, out var pageSize))
        {
            return AggregateProblems.BadRequest(ErrorCodes.InvalidLimit, $"limit must be between 1 and {MaxWindowLimit}.");
        }

        DateTimeOffset? after = null;
        if (cursor is not null && !cursors.TryDecode(cursor, key, size, out after))
        {
            return AggregateProblems.BadRequest(ErrorCodes.InvalidCursor, "cursor must be the nextCursor of a previous page.");
        }

        await using var command = dataSource.CreateCommand(SelectWindows);
        command.Parameters.Add(new NpgsqlParameter<string>("key", key));
        command.Parameters.Add(new NpgsqlParameter<string>("size", size));
        command.Parameters.Add(new NpgsqlParameter<DateTime?>("from", NpgsqlTypes.NpgsqlDbType.TimestampTz) { TypedValue = fromInstant?.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime?>("to", NpgsqlTypes.NpgsqlDbType.TimestampTz) { TypedValue = toInstant?.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime?>("after", NpgsqlTypes.NpgsqlDbType.TimestampTz) { TypedValue = after?.UtcDateTime });
        // One row more than the page tells whether there is a next page.
        command.Parameters.Add(new NpgsqlParameter<int>("limit", pageSize + 1));

        var items = new List<WindowItem>(pageSize + 1);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(new WindowItem(
                    reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt64(2), reader.GetDouble(3),
                    reader.GetDouble(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetBoolean(7), reader.GetFieldValue<DateTimeOffset>(8)));
            }
        }

        string? nextCursor = null;
        if (items.Count > pageSize)
        {
            items.RemoveAt(pageSize);
            nextCursor = cursors.Encode(items[^1].WindowStart, key, size);
        }

        return TypedResults.Ok(new WindowPage(key, size, items, nextCursor));
    }

    public static Results<ServerSentEventsResult<string>, ProblemHttpResult> StreamChanges(
        [Description("Only changes of this key; all keys when absent.")] string? key,
        AggregateChangeFeed feed,
        IOptions<ChangeStreamOptions> options,
        HttpContext context)
    {
        // Subscribed here, before the response starts, so nothing committed from now on is missed.
        if (feed.TrySubscribe(key, context.User.Identity?.Name ?? "", context.Response) is not { } events)
        {
            var settings = options.Value;
            context.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiProblems.Problem(StatusCodes.Status429TooManyRequests, ErrorCodes.TooManyStreams, "Too many open streams.",
                $"At most {settings.MaxOpenPerKey} streams may be open per API key, and {settings.MaxOpen} in all; close one or retry after Retry-After seconds.");
        }

        return TypedResults.ServerSentEvents(events);
    }

    // The server decodes every escape in a path but %2F: "a%2Fb" may be a/b escaped or those five
    // characters, so it is refused rather than guessed.
    private static ProblemHttpResult? AmbiguousInPath(string key) =>
        key.Contains("%2F", StringComparison.OrdinalIgnoreCase)
            ? AggregateProblems.BadRequest(ErrorCodes.AmbiguousKeyPath,
                "A key in the path may not hold %2F: it could be an escaped '/' or those characters. Send the key as the key query parameter of /api/totals or /api/windows.")
            : null;

    // A key that breaks the rules every written key keeps (a NUL, a bidi control, not NFC...) has no
    // aggregates, and some of them (NUL) PostgreSQL cannot even take as a parameter.
    private static ProblemHttpResult? NeverWritten(string key) =>
        (PipelineEventRules.HasUnpairedSurrogate(key)
            ? new EventRuleBreach(EventRuleCodes.InvalidUnicode, "The key holds an unpaired surrogate.")
            : PipelineEventRules.CheckKey(key)) is { } breach
            ? AggregateProblems.BadRequest(ErrorCodes.InvalidQueryKey, $"No event can have this key ({breach.Code}): {breach.Message}")
            : null;

    private static ProblemHttpResult KeyParameterRequired() =>
        AggregateProblems.BadRequest(ErrorCodes.KeyParameterRequired, "Name the key in the key query parameter, e.g. ?key=sensor-7.");

    internal static AggregateTotals ReadTotals(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4), reader.GetDouble(5),
            reader.GetFieldValue<DateTimeOffset>(6));
}
