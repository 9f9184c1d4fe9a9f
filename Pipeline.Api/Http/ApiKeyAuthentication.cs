using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Pipeline.Api.Events;

namespace Pipeline.Api.Http;

/// <summary>The API keys clients present in <c>X-Api-Key</c>. The AppHost passes its secret parameter <c>api-key</c> as <c>Api__Keys__0</c>.</summary>
public sealed class ApiKeyOptions
{
    public const string SectionName = "Api";

    /// <summary>Every accepted key; more than one lets keys be rotated without downtime.</summary>
    [MinLength(1, ErrorMessage = "No API key is configured: set Api:Keys:0 (environment Api__Keys__0), or run the API from Pipeline.AppHost, " +
        "which passes its secret parameter 'api-key'.")]
    [NoBlankEntries(ErrorMessage = "Api:Keys holds an empty key.")]
    public string[] Keys { get; set; } = [];
}

[OptionsValidator]
internal sealed partial class ApiKeyOptionsValidator : IValidateOptions<ApiKeyOptions>;

/// <summary>Names shared by the API-key scheme, its policy and the OpenAPI document.</summary>
public static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
    public const string Policy = "ApiKey";
    public const string HeaderName = "X-Api-Key";
}

/// <summary>
/// Compares a presented key with every configured key in constant time: both sides are hashed
/// first, so neither the length nor a common prefix of a key shows in the timing, and the loop
/// never stops early. Keys are never logged; a caller is known by the index of its key.
/// </summary>
internal sealed class ApiKeyVerifier
{
    private readonly byte[][] _keyHashes;

    public ApiKeyVerifier(IOptions<ApiKeyOptions> options) =>
        _keyHashes = options.Value.Keys.Select(key => SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToArray();

    /// <summary>The index of the matching key, or -1.</summary>
    public int Match(string presented)
    {
        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), presentedHash);
        var match = -1;
        for (var i = 0; i < _keyHashes.Length; i++)
        {
            var equal = CryptographicOperations.FixedTimeEquals(presentedHash, _keyHashes[i]);
            match = equal ? i : match;
        }

        return match;
    }
}

/// <summary>
/// Authenticates a request by its <c>X-Api-Key</c> header. The caller's name is <c>api-key-{index}</c>,
/// which the rate limiter partitions by. A challenge answers 401 as a problem with code
/// <c>api-key-missing</c> or <c>api-key-invalid</c>.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyVerifier verifier)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeyDefaults.HeaderName, out var values) || string.IsNullOrEmpty(values.ToString()))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        // Several X-Api-Key headers are refused rather than guessed between.
        var index = values.Count == 1 ? verifier.Match(values[0]!) : -1;
        if (index < 0)
        {
            return Task.FromResult(AuthenticateResult.Fail("The X-Api-Key header matches no configured API key."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, $"api-key-{index}")], ApiKeyDefaults.Scheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyDefaults.Scheme)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var missing = string.IsNullOrEmpty(Request.Headers[ApiKeyDefaults.HeaderName].ToString());
        Response.Headers.WWWAuthenticate = $"{ApiKeyDefaults.Scheme} header=\"{ApiKeyDefaults.HeaderName}\"";
        var problem = missing
            ? ApiProblems.Create(StatusCodes.Status401Unauthorized, ErrorCodes.ApiKeyMissing,
                "An API key is required.", $"Send your API key in the {ApiKeyDefaults.HeaderName} header.")
            : ApiProblems.Create(StatusCodes.Status401Unauthorized, ErrorCodes.ApiKeyInvalid,
                "The API key is not valid.", $"The {ApiKeyDefaults.HeaderName} header matches no configured API key.");
        IngestMetrics.RequestRefused(Context, (string)problem.Extensions[ApiProblems.CodeMember]!);
        return ApiProblems.WriteAsync(Context, problem);
    }
}
