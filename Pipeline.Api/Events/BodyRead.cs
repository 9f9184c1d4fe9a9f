using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Pipeline.Api.Events;

/// <summary>What reading a request body gave: the body, or the problem to answer instead (415, 413).</summary>
internal readonly struct BodyRead
{
    private BodyRead(RequestBody? body, ProblemHttpResult? problem)
    {
        Body = body;
        Problem = problem;
    }

    public RequestBody? Body { get; }

    public ProblemHttpResult? Problem { get; }

    [MemberNotNullWhen(true, nameof(Body))]
    [MemberNotNullWhen(false, nameof(Problem))]
    public bool Succeeded => Body is not null;

    public static implicit operator BodyRead(RequestBody body) => new(body, null);

    public static implicit operator BodyRead(ProblemHttpResult problem) => new(null, problem);
}
