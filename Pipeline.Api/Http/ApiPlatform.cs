using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Api.Http;

/// <summary>
/// What every <c>/api</c> endpoint group shares: API-key authentication, the per-key rate limit,
/// problem details for every error (no stack trace ever leaves the process), and the OpenAPI
/// document. A feature maps its endpoints on the group <see cref="MapApiGroup"/> returns.
/// </summary>
public static class ApiPlatform
{
    private const string ApiPath = "/api";

    /// <summary>Registers authentication, rate limiting, problem details and OpenAPI.</summary>
    public static IHostApplicationBuilder AddApiPlatform(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiKeyOptions, ApiKeyOptionsValidator>(ApiKeyOptions.SectionName);
        builder.Services.AddSingleton<ApiKeyVerifier>();
        builder.Services.AddAuthentication(ApiKeyDefaults.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.Scheme, configureOptions: null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyDefaults.Policy, policy => policy
                .AddAuthenticationSchemes(ApiKeyDefaults.Scheme)
                .RequireAuthenticatedUser());

        builder.AddApiRateLimiting();
        builder.AddApiTransport();

        // Registered before AddProblemDetails so that it is the writer chosen.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, ProblemJsonWriter>());
        builder.Services.AddProblemDetails();
        builder.Services.Configure<ExceptionHandlerOptions>(handler =>
            handler.StatusCodeSelector = exception => exception is BadHttpRequestException badRequest
                ? badRequest.StatusCode
                : StatusCodes.Status500InternalServerError);

        // A parameter that does not bind is a 400 problem, never an exception logged at Error (which
        // Development would otherwise throw); the endpoints read what they validate themselves.
        builder.Services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = false);

        // Numbers are numbers: the OpenAPI schemas must not say a string is accepted for one.
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        builder.AddApiDocumentation();
        return builder;
    }

    /// <summary>
    /// The middleware, in order: forwarded headers from a known proxy, HSTS and the headers every
    /// answer carries (<see cref="ApiTransport"/>); exceptions become a logged 500 problem with a
    /// trace id; bare error statuses (404, 405) become problems; authentication reads the key; the
    /// rate limit (per key, or per address without a valid key); then any <c>/api</c> request
    /// without a valid key is answered 401 whatever its method or path, before routing could
    /// answer 404 or 405; authorization.
    /// </summary>
    public static WebApplication UseApiPlatform(this WebApplication app)
    {
        app.UseApiTransport();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.Use(RequireApiKeyUnderApi);
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Maps a read endpoint that answers GET, and HEAD with the same status and headers and no
    /// body (the OpenAPI document lists it once, as GET).
    /// </summary>
    public static RouteHandlerBuilder MapRead(this IEndpointRouteBuilder endpoints, string pattern, Delegate handler) =>
        endpoints.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Head], handler);

    private static Task RequireApiKeyUnderApi(HttpContext context, RequestDelegate next) =>
        context.Request.Path.StartsWithSegments(ApiPath) && context.User.Identity?.IsAuthenticated != true
            ? context.ChallengeAsync(ApiKeyDefaults.Scheme)
            : next(context);

    /// <summary>
    /// The <c>/api</c> group: every endpoint under it needs an API key and is rate-limited per key,
    /// and its OpenAPI entry lists the errors every endpoint can answer.
    /// </summary>
    public static RouteGroupBuilder MapApiGroup(this WebApplication app)
    {
        var api = app.MapGroup(ApiPath);
        api.RequireAuthorization(ApiKeyDefaults.Policy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .WithResponseDocumentation(StatusCodes.Status401Unauthorized,
                "No X-Api-Key header (code api-key-missing), or a key that matches none configured (api-key-invalid).",
                Example(StatusCodes.Status401Unauthorized, ErrorCodes.ApiKeyMissing, "An API key is required.", "Send your API key in the X-Api-Key header."))
            .WithResponseDocumentation(StatusCodes.Status429TooManyRequests,
                "Over a rate limit (code rate-limited): this API key's requests, or for ingest its events, or requests without a valid key from this address. " +
                "Nothing was produced. Retry-After says when to retry.",
                Example(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, "Too many requests for this API key.", "Retry after 1 s."))
            .WithResponseDocumentation(StatusCodes.Status500InternalServerError,
                "An unexpected failure (code internal-error). It is logged; quote the traceId.",
                Example(StatusCodes.Status500InternalServerError, ErrorCodes.InternalError, "An error occurred while processing your request.", null));
        return api;
    }

    /// <summary>An example problem body for the OpenAPI document, with the members every problem has.</summary>
    public static object Example(int status, string code, string title, string? detail) => new Dictionary<string, object?>
    {
        ["type"] = "https://tools.ietf.org/html/rfc9110",
        ["title"] = title,
        ["status"] = status,
        ["detail"] = detail,
        [ApiProblems.CodeMember] = code,
        [ApiProblems.TraceIdMember] = "4bf92f3577b34da6a3ce929d0e0e4736",
    };
}
