using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Pipeline.LoadGenerator;

/// <summary>
/// The outcome of one request: its HTTP status (0 when no answer came), how long it took, the
/// Retry-After it asked for, and the problem's <c>code</c> when a 429 or 503 carried one.
/// </summary>
internal readonly record struct SendOutcome(int Status, TimeSpan Latency, TimeSpan? RetryAfter, string? Code = null);

/// <summary>Posts events to the API: one to <c>POST /api/events</c>, several to <c>POST /api/events/batch</c>.</summary>
internal sealed class IngestClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static HttpClient CreateHttpClient(Uri api, string apiKey, int concurrency)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(concurrency, 1),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        var http = new HttpClient(handler) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return http;
    }

    public async Task<SendOutcome> SendAsync(IReadOnlyList<GeneratedEvent> events, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            using var response = events.Count == 1
                ? await http.PostAsJsonAsync("api/events", ToBody(events[0]), Json, cancellationToken)
                : await http.PostAsJsonAsync("api/events/batch", events.Select(ToBody), Json, cancellationToken);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            var status = (int)response.StatusCode;
            var code = status is 429 or 503 ? await ProblemCodeAsync(response, cancellationToken) : null;
            return new(status, System.Diagnostics.Stopwatch.GetElapsedTime(started), retryAfter, code);
        }
        catch (HttpRequestException)
        {
            return new(0, System.Diagnostics.Stopwatch.GetElapsedTime(started), null);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(0, System.Diagnostics.Stopwatch.GetElapsedTime(started), null); // timed out
        }
    }

    private static object ToBody(GeneratedEvent e) => new { id = e.Id, key = e.Key, value = e.Value, timestamp = e.Timestamp };

    /// <summary>Whether a status means the events are in Kafka.</summary>
    public static bool Accepted(int status) => status == (int)HttpStatusCode.Accepted;

    /// <summary>Whether a status is worth the same request again (the ids make a retry safe).</summary>
    public static bool Retryable(int status) => status is 0 or 429 or 503 or 502 or 504;

    /// <summary>
    /// Whether the API refused the request whole, before producing anything, because of load: over
    /// the key's rate limit (429) or the pipeline too far behind (503 <c>backlog-full</c>). Such a
    /// refusal is waited out rather than counted as a failed attempt: nothing of it is in Kafka.
    /// </summary>
    public static bool HeldBack(SendOutcome outcome) => outcome.Status == 429 || (outcome.Status == 503 && outcome.Code == "backlog-full");

    private static async Task<string?> ProblemCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var problem = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            return problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
