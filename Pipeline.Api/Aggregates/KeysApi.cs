using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using Pipeline.Api.Http;
using Pipeline.Contracts;

namespace Pipeline.Api.Aggregates;

/// <summary>GET /api/keys: the keys with the highest all-time figures.</summary>
public static class KeysApi
{
    public const int DefaultLimit = 10;
    public const int MaxLimit = 1000;

    // ORDER BY cannot take a parameter, so each ordering is its own statement, each served by the
    // index on (figure DESC, key) from the first migration; key breaks ties so pages are stable.
    private static readonly Dictionary<string, string> SelectTopKeys = new(StringComparer.Ordinal)
    {
        ["count"] = "SELECT key, count, sum, min, max, mean, updated_at FROM aggregate_totals ORDER BY count DESC, key LIMIT @limit",
        ["sum"] = "SELECT key, count, sum, min, max, mean, updated_at FROM aggregate_totals ORDER BY sum DESC, key LIMIT @limit",
        ["updatedAt"] = "SELECT key, count, sum, min, max, mean, updated_at FROM aggregate_totals ORDER BY updated_at DESC, key LIMIT @limit",
    };

    public static RouteGroupBuilder MapKeyEndpoints(this RouteGroupBuilder api)
    {
        api.MapRead("/keys", GetTopKeys)
            .WithTags("Aggregates")
            .WithName("GetTopKeys")
            .WithSummary("The top keys by an all-time figure")
            .WithDescription("Keys with their all-time totals, highest first by count (default), sum or updatedAt (most recent first).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AddEndpointFilter<DatabaseOutageFilter>()
            .WithIntegerParameter("limit", 1, MaxLimit)
            .WithResponseExample(StatusCodes.Status200OK, "application/json", OpenApiExamples.TopKeys);
        return api;
    }

    public static async Task<Results<Ok<TopKeys>, ProblemHttpResult>> GetTopKeys(
        [Description("count, sum or updatedAt. Default count.")] string? orderBy,
        [Description("How many keys, 1 to 1000. Default 10.")] string? limit,
        NpgsqlDataSource dataSource,
        CancellationToken cancellationToken)
    {
        orderBy ??= "count";
        if (!SelectTopKeys.TryGetValue(orderBy, out var sql))
        {
            return AggregateProblems.BadRequest(ErrorCodes.UnknownOrder, $"Unknown orderBy '{orderBy}'; use count, sum or updatedAt.");
        }

        if (!QueryParameters.TryParseLimit(limit, DefaultLimit, MaxLimit, out var count))
        {
            return AggregateProblems.BadRequest(ErrorCodes.InvalidLimit, $"limit must be between 1 and {MaxLimit}.");
        }

        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<int>("limit", count));
        var items = new List<AggregateTotals>(count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(AggregatesApi.ReadTotals(reader));
        }

        return TypedResults.Ok(new TopKeys(orderBy, items));
    }
}
