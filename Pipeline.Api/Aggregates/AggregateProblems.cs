using Microsoft.AspNetCore.Http.HttpResults;

namespace Pipeline.Api.Aggregates;

/// <summary>The query endpoints' errors: problem+json with a stable, machine-readable <c>code</c>.</summary>
internal static class AggregateProblems
{
    public static ProblemHttpResult KeyNotFound(string key) =>
        Problem(StatusCodes.Status404NotFound, "key-not-found", "Unknown key", $"No event with key '{key}' has been aggregated.");

    public static ProblemHttpResult BadRequest(string code, string detail) =>
        Problem(StatusCodes.Status400BadRequest, code, "Invalid query", detail);

    public static ProblemHttpResult DatabaseUnavailable() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "database-unavailable", "Database unavailable",
            $"The aggregates cannot be read right now; retry after {DatabaseOutageFilter.RetryAfterSeconds} seconds.");

    private static ProblemHttpResult Problem(int status, string code, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });
}
