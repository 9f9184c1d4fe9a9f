using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;

namespace Pipeline.Web.Api;

/// <summary>
/// The API as any client calls it: <c>X-Api-Key</c> in a header, problems read by their
/// <c>code</c>. An answer that means "try again soon" (the API or the database out of reach)
/// becomes a <see cref="PipelineUnavailableException"/>, which the page shows as reconnecting.
/// </summary>
public sealed class PipelineApiClient(HttpClient http)
{
    /// <summary>The header the API reads the key from.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The change stream's path (Pipeline.Api's AggregatesApi).</summary>
    public const string StreamPath = "/api/aggregates/stream";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    internal static void Configure(IServiceProvider services, HttpClient http)
    {
        var options = services.GetRequiredService<IOptions<PipelineApiOptions>>().Value;
        http.BaseAddress = options.BaseAddress;
        http.DefaultRequestHeaders.Add(ApiKeyHeader, options.Key);
        http.Timeout = TimeSpan.FromSeconds(10);
    }

    internal static void ConfigureStream(IServiceProvider services, HttpClient http)
    {
        Configure(services, http);
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    public Task<TopKeys> GetTopKeysAsync(string orderBy, int limit, CancellationToken cancellationToken) =>
        GetAsync<TopKeys>(FormattableString.Invariant($"/api/keys?orderBy={Uri.EscapeDataString(orderBy)}&limit={limit}"), cancellationToken);

    /// <summary>Every window of <paramref name="size"/> starting in [from, now), page after page.</summary>
    public async Task<IReadOnlyList<WindowItem>> GetWindowsAsync(string key, string size, DateTimeOffset from, CancellationToken cancellationToken)
    {
        var items = new List<WindowItem>();
        string? cursor = null;
        do
        {
            var path = $"/api/aggregates/{Uri.EscapeDataString(key)}/windows?size={size}&limit=1000" +
                $"&from={Uri.EscapeDataString(from.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture))}" +
                (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = await GetAsync<WindowPage>(path, cancellationToken);
            items.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return items;
    }

    public Task<PipelineStatus> GetStatusAsync(CancellationToken cancellationToken) =>
        GetAsync<PipelineStatus>("/api/status", cancellationToken);

    /// <summary>Posts one event; a refusal is an answer to show, not an exception.</summary>
    public async Task<SendResult> SendEventAsync(string key, double value, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(
            () => http.PostAsJsonAsync("/api/events", new { key, value }, Json, cancellationToken), cancellationToken);
        var body = await ReadBodyAsync(response, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return new SendResult(true, (int)response.StatusCode, String(body, "id"), null, null, null);
        }

        return new SendResult(false, (int)response.StatusCode, null, String(body, "code"), String(body, "title"), String(body, "detail"));
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        // The page's reads run on its own schedule (and, in a circuit, under the long-lived /_blazor
        // request): they start no trace of their own, so the dashboard's trace list keeps to events
        // (ServiceDefaults' BackgroundWorkSampler). This only clears it for this call.
        Activity.Current = null;
        using var response = await SendAsync(() => http.GetAsync(path, cancellationToken), cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
                ?? throw new PipelineApiException((int)response.StatusCode, null, $"GET {path} answered an empty body.");
        }

        var body = await ReadBodyAsync(response, cancellationToken);
        var code = String(body, "code");
        if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout)
        {
            throw new PipelineUnavailableException(code == "database-unavailable"
                ? "The database is out of reach."
                : $"The API answered {(int)response.StatusCode} {code}.");
        }

        throw new PipelineApiException((int)response.StatusCode, code, String(body, "detail") ?? response.ReasonPhrase);
    }

    private static async Task<HttpResponseMessage> SendAsync(Func<Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException exception)
        {
            throw new PipelineUnavailableException("The API is out of reach.", exception);
        }
        catch (TaskCanceledException exception) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PipelineUnavailableException("The API did not answer in time.", exception);
        }
    }

    private static async Task<JsonElement?> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    private static string? String(JsonElement? body, string property) =>
        body is { ValueKind: JsonValueKind.Object } element && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

/// <summary>The API or what it depends on is out of reach for now; the page shows it and tries again.</summary>
public sealed class PipelineUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The API refused a request for a reason that retrying does not change.</summary>
public sealed class PipelineApiException(int status, string? code, string? detail)
    : Exception($"The API answered {status} {code}: {detail}")
{
    public int Status { get; } = status;

    public string? Code { get; } = code;
}
