using Microsoft.AspNetCore.Http.HttpResults;
using Pipeline.Api.Http;

namespace Pipeline.Api.Aggregates;

/// <summary>The query endpoints' errors, built like every other problem of the API (<see cref="ApiProblems"/>).</summary>
internal static class AggregateProblems
{
    public static ProblemHttpResult KeyNotFound(string key) =>
        ApiProblems.Problem(StatusCodes.Status404NotFound, ErrorCodes.KeyNotFound, "Unknown key", $"No event with key '{key}' has been aggregated.");

    public static ProblemHttpResult BadRequest(string code, string detail) =>
        ApiProblems.Problem(StatusCodes.Status400BadRequest, code, "Invalid query", detail);

    public static ProblemHttpResult DatabaseUnavailable() =>
        ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.DatabaseUnavailable, "Database unavailable",
            $"The aggregates cannot be read right now; retry after {DatabaseOutageFilter.RetryAfterSeconds} seconds.");
}
