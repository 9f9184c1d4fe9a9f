using System.Net.Http.Headers;

namespace Pipeline.Tests.Api.Http;

/// <summary>Sending raw bodies and reading the API's answers, as any HTTP client would.</summary>
public static class ApiRequests
{
    public const string Events = "/api/events";
    public const string Batch = "/api/events/batch";

    public static Task<HttpResponseMessage> PostAsync(this HttpClient client, string path, string body, string? contentType = "application/json") =>
        client.PostAsync(path, Content(Encoding.UTF8.GetBytes(body), contentType));

    public static Task<HttpResponseMessage> PostAsync(this HttpClient client, string path, byte[] body, string? contentType = "application/json") =>
        client.PostAsync(path, Content(body, contentType));

    public static ByteArrayContent Content(byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }

    /// <summary>An event body for a fresh id and key; the current time unless <paramref name="timestamp"/> is given.</summary>
    public static string NewEvent(out string id, string? key = null, double value = 1.5, DateTimeOffset? timestamp = null)
    {
        id = "evt-" + Guid.NewGuid().ToString("N");
        return JsonSerializer.Serialize(new
        {
            id,
            key = key ?? "key-" + Guid.NewGuid().ToString("N")[..8],
            value,
            timestamp = (timestamp ?? DateTimeOffset.UtcNow).ToString("O"),
        });
    }

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Asserts a problem+json answer with <paramref name="status"/> and <paramref name="code"/>, and returns it.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString());
        return problem;
    }

    /// <summary>The stable codes a validation problem gives for one field.</summary>
    public static IReadOnlyList<string> FieldCodes(this JsonElement problem, string field) =>
        problem.GetProperty("errorCodes").TryGetProperty(field, out var codes)
            ? codes.EnumerateArray().Select(code => code.GetString()!).ToList()
            : throw new Xunit.Sdk.XunitException($"No errors for field '{field}' in {problem}");

    /// <summary>Sends one valid event and returns where the broker put it.</summary>
    public static async Task<(int Partition, long Offset)> PostMarkerAsync(this HttpClient client)
    {
        var response = await client.PostAsync(Events, NewEvent(out _, key: "marker"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.ReadJsonAsync();
        return (body.GetProperty("partition").GetInt32(), body.GetProperty("offset").GetInt64());
    }

    /// <summary>
    /// Asserts, on a one-partition topic, that <paramref name="request"/> produced nothing: a marker
    /// event sent after it takes the offset right after the marker sent before it.
    /// </summary>
    public static async Task<HttpResponseMessage> AssertProducesNothingAsync(this HttpClient client, Func<Task<HttpResponseMessage>> request)
    {
        var before = await client.PostMarkerAsync();
        var response = await request();
        var after = await client.PostMarkerAsync();
        Assert.True(after.Offset == before.Offset + 1,
            $"The request produced {after.Offset - before.Offset - 1} record(s): markers at offsets {before.Offset} and {after.Offset}.");
        return response;
    }
}
