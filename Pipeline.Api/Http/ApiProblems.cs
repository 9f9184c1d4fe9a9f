using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Pipeline.Api.Http;

/// <summary>
/// The one way the API builds an error answer: an RFC 9457 problem with a stable <c>code</c>
/// (see <see cref="ErrorCodes"/>) and the request's <c>traceId</c>.
/// </summary>
public static class ApiProblems
{
    /// <summary>The extension member holding the stable error code.</summary>
    public const string CodeMember = "code";

    /// <summary>The extension member holding the W3C trace id of the request, to find its logs and spans.</summary>
    public const string TraceIdMember = "traceId";

    /// <summary>The content type of every problem.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>A problem result with <paramref name="status"/> and <paramref name="code"/>.</summary>
    public static ProblemHttpResult Problem(int status, string code, string title, string? detail = null) =>
        TypedResults.Problem(Create(status, code, title, detail));

    /// <summary>A problem object, for results that carry more members or for middleware writing it itself.</summary>
    public static ProblemDetails Create(int status, string code, string title, string? detail = null) =>
        WithCode(new ProblemDetails { Status = status, Title = title, Detail = detail }, code);

    /// <summary>Sets the stable code of <paramref name="problem"/>.</summary>
    public static TProblem WithCode<TProblem>(TProblem problem, string code)
        where TProblem : ProblemDetails
    {
        problem.Extensions[CodeMember] = code;
        return problem;
    }

    /// <summary>The stable code of a problem made here.</summary>
    public static string CodeOf(ProblemHttpResult problem) =>
        problem.ProblemDetails.Extensions.TryGetValue(CodeMember, out var code) && code is string text ? text : ErrorCodes.ForStatus(problem.StatusCode);

    /// <summary>
    /// Fills in what every problem carries, whoever wrote it (handlers, the exception handler,
    /// status code pages, authentication, the rate limiter): a code and a trace id.
    /// </summary>
    public static void Complete(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        problem.Extensions.TryAdd(CodeMember, ErrorCodes.ForStatus(status));
        problem.Extensions[TraceIdMember] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
    }

    /// <summary>
    /// Writes <paramref name="problem"/> as the response, through <see cref="IProblemDetailsService"/>
    /// so that it is completed like every other; for middleware that has no endpoint result.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, ProblemDetails problem)
    {
        context.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await writer.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}

/// <summary>
/// Writes every problem as <c>application/problem+json</c>, whatever the Accept header says (the
/// framework's writer declines when Accept names no JSON type, leaving an empty error body),
/// completed by <see cref="ApiProblems.Complete"/> and serialized as its runtime type so that
/// derived problems keep their members.
/// </summary>
internal sealed class ProblemJsonWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var response = context.HttpContext.Response;
        var problem = context.ProblemDetails;
        problem.Status ??= response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(response.StatusCode);
        ApiProblems.Complete(context);
        return new ValueTask(response.WriteAsJsonAsync(problem, problem.GetType(), options: null, contentType: ApiProblems.ContentType));
    }
}
