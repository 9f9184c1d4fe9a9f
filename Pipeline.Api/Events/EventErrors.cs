using Pipeline.Api.Http;

namespace Pipeline.Api.Events;

/// <summary>Field-level errors, keyed like <c>[3].value</c> (batch) or <c>value</c> (one event).</summary>
internal sealed class EventErrors
{
    public const int MaxReported = 100;

    private readonly List<(string Field, string Code, string Message)> _reported = [];

    public int Count { get; private set; }

    public void Add(string field, string code, string message)
    {
        Count++;
        if (_reported.Count < MaxReported)
        {
            _reported.Add((field, code, message));
        }
    }

    public EventValidationProblem ToProblem(string detail)
    {
        var problem = new EventValidationProblem
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "One or more events are invalid.",
            Detail = detail,
            ErrorCount = Count,
        };
        foreach (var group in _reported.GroupBy(error => error.Field, StringComparer.Ordinal))
        {
            problem.Errors[group.Key] = group.Select(error => error.Message).ToArray();
            problem.Codes[group.Key] = group.Select(error => error.Code).ToArray();
        }

        return ApiProblems.WithCode(problem, ErrorCodes.ValidationFailed);
    }
}
