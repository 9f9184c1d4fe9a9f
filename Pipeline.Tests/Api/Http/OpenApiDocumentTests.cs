using System.Reflection;
using Pipeline.Api.Http;
using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Http;

public sealed class OpenApiDocumentTests(PartitionedEventsTopic topic) : IClassFixture<PartitionedEventsTopic>
{
    [Theory]
    [InlineData("/api/events", new[] { "202", "400", "401", "413", "415", "429", "500", "503" })]
    [InlineData("/api/events/batch", new[] { "202", "400", "401", "413", "415", "429", "500", "503" })]
    public async Task EveryEndpointIsDocumentedWithExamplesErrorResponsesAndTheApiKey(string path, string[] statuses)
    {
        var document = await GetDocumentAsync();

        var operation = document.GetProperty("paths").GetProperty(path).GetProperty("post");
        Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("operationId").GetString()));
        Assert.Equal("Events", operation.GetProperty("tags")[0].GetString());
        Assert.True(operation.GetProperty("security")[0].TryGetProperty("ApiKey", out _));
        var responses = operation.GetProperty("responses");
        Assert.Equal(statuses.Order(), responses.EnumerateObject().Select(r => r.Name).Order());
        foreach (var status in statuses.Where(s => s != "202"))
        {
            var response = responses.GetProperty(status);
            Assert.False(string.IsNullOrWhiteSpace(response.GetProperty("description").GetString()));
            Assert.True(response.GetProperty("content").TryGetProperty("application/problem+json", out _), $"{path} {status} is not a problem");
        }

        foreach (var status in new[] { "202", "400", "401", "503" })
        {
            var content = responses.GetProperty(status).GetProperty("content").EnumerateObject().Single().Value;
            Assert.True(content.GetProperty("examples").EnumerateObject().Any(), $"{path} {status} has no example");
        }

        foreach (var mediaType in operation.GetProperty("requestBody").GetProperty("content").EnumerateObject())
        {
            Assert.True(mediaType.Value.GetProperty("examples").EnumerateObject().Any(), $"{path} {mediaType.Name} has no example");
        }
    }

    [Fact]
    public async Task BatchEndpointSaysExactlyWhatA503Means()
    {
        var document = await GetDocumentAsync();

        var batch = document.GetProperty("paths").GetProperty("/api/events/batch").GetProperty("post");
        var description = batch.GetProperty("description").GetString()!;
        Assert.Contains("Every event is validated before any is produced", description);
        Assert.Contains("the acknowledged ones are in Kafka", description);
        Assert.Contains("Retrying the listed events with the same ids is safe because the stream processor counts an id once", description);
        Assert.Equal(["application/json", "application/x-ndjson"],
            batch.GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(c => c.Name));
    }

    [Fact]
    public async Task EventSchemaRefusesUnknownPropertiesAndNeedsOnlyKeyAndValue()
    {
        var document = await GetDocumentAsync();

        var schema = document.GetProperty("components").GetProperty("schemas").GetProperty("EventSubmission");
        Assert.False(schema.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(["key", "value"], schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Order());
        Assert.Equal("number", schema.GetProperty("properties").GetProperty("value").GetProperty("type").GetString());
        Assert.Equal(256, schema.GetProperty("properties").GetProperty("key").GetProperty("maxLength").GetInt32());
        Assert.Equal(128, schema.GetProperty("properties").GetProperty("id").GetProperty("maxLength").GetInt32());
        Assert.Equal(-1e300, schema.GetProperty("properties").GetProperty("value").GetProperty("minimum").GetDouble());
        Assert.Equal(1e300, schema.GetProperty("properties").GetProperty("value").GetProperty("maximum").GetDouble());
    }

    [Fact]
    public async Task EveryErrorCodeIsDescribedInTheDocument()
    {
        var codes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.IsLiteral)
            .Select(field => (string)field.GetRawConstantValue()!)
            .ToList();
        var document = await GetDocumentAsync();

        var description = document.GetProperty("info").GetProperty("description").GetString()!;
        Assert.True(codes.Count > 30);
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.All(codes, code => Assert.Contains($"| `{code}` |", description));
        var problem = document.GetProperty("components").GetProperty("schemas").GetProperty("ProblemDetails");
        Assert.Contains("code", problem.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task ApiKeySecuritySchemeIsAHeader()
    {
        var document = await GetDocumentAsync();

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", scheme.GetProperty("name").GetString());
    }

    [Fact]
    public async Task ScalarUiIsServedInDevelopmentOnly()
    {
        await using var development = new IngestApiFactory(topic.BootstrapServers, environment: "Development");
        await using var production = new IngestApiFactory(topic.BootstrapServers, environment: "Production");
        using var developmentClient = development.CreateApiClient(apiKey: null);
        using var productionClient = production.CreateApiClient(apiKey: null);

        var inDevelopment = await developmentClient.GetAsync("/scalar");
        var inProduction = await productionClient.GetAsync("/scalar");

        Assert.Equal(HttpStatusCode.OK, inDevelopment.StatusCode);
        Assert.Contains("text/html", inDevelopment.Content.Headers.ContentType?.ToString());
        Assert.Equal(HttpStatusCode.NotFound, inProduction.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await productionClient.GetAsync("/openapi/v1.json")).StatusCode);
    }

    private async Task<JsonElement> GetDocumentAsync()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        using var anonymous = api.CreateApiClient(apiKey: null);
        var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }
}
