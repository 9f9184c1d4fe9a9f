using System.Net.Http.Headers;

namespace Pipeline.Tests.Api.Events;

/// <summary>Content types (415), body size (413) and batch size: each refused, and nothing produced.</summary>
public sealed class RequestLimitTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    private const int MaxBodyBytes = 2048;
    private const int MaxBatchSize = 5;

    [Theory]
    [InlineData(ApiRequests.Events, "text/plain")]
    [InlineData(ApiRequests.Events, "application/x-ndjson")]
    [InlineData(ApiRequests.Events, "application/xml")]
    [InlineData(ApiRequests.Events, "application/json; charset=utf-16")]
    [InlineData(ApiRequests.Events, "application/x-www-form-urlencoded")]
    [InlineData(ApiRequests.Events, null)]
    [InlineData(ApiRequests.Batch, "text/csv")]
    [InlineData(ApiRequests.Batch, "application/jsonl")]
    [InlineData(ApiRequests.Batch, "application/x-ndjson; charset=iso-8859-1")]
    [InlineData(ApiRequests.Batch, null)]
    public async Task AnyOtherContentTypeGets415AndProducesNothing(string path, string? contentType)
    {
        await using var api = CreateApi();
        using var client = api.CreateApiClient();
        var body = path == ApiRequests.Events ? ApiRequests.NewEvent(out _) : "[" + ApiRequests.NewEvent(out _) + "]";

        var response = await client.AssertProducesNothingAsync(() => client.PostAsync(path, body, contentType));

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON; charset=\"UTF-8\"")]
    public async Task JsonWithAUtf8CharsetIsAccepted(string contentType)
    {
        await using var api = CreateApi();
        using var client = api.CreateApiClient();

        var response = await client.PostAsync(ApiRequests.Events, ApiRequests.NewEvent(out _), contentType);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData(ApiRequests.Events)]
    [InlineData(ApiRequests.Batch)]
    public async Task BodyOverTheLimitGets413AndProducesNothing(string path)
    {
        await using var api = CreateApi();
        using var client = api.CreateApiClient();
        var body = $$"""[{"key":"k","value":1,"id":"{{new string('x', MaxBodyBytes)}}"}]""";

        var response = await client.AssertProducesNothingAsync(() => client.PostAsync(path, path == ApiRequests.Events ? body[1..^1] : body));

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body-too-large");
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimitGets413OverARealConnection()
    {
        await using var api = CreateApi();
        api.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        api.StartServer();
        using var client = api.CreateApiClient();
        var body = Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("""{"key":"k","value":1}""", MaxBodyBytes / 10)) + "]");

        var response = await client.AssertProducesNothingAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, ApiRequests.Batch) { Content = new StreamContent(new MemoryStream(body)) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
            return client.SendAsync(request);
        });

        Assert.Equal("127.0.0.1", client.BaseAddress?.Host);
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "body-too-large");
    }

    [Fact]
    public async Task BatchOfExactlyTheMaximumSizeIsAccepted()
    {
        await using var api = CreateApi();
        using var client = api.CreateApiClient();
        var batch = "[" + string.Join(",", Enumerable.Range(0, MaxBatchSize).Select(_ => """{"key":"k","value":1}""")) + "]";

        var response = await client.PostAsync(ApiRequests.Batch, batch);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/x-ndjson")]
    public async Task BatchOverTheMaximumSizeGets400AndProducesNothing(string contentType)
    {
        await using var api = CreateApi();
        using var client = api.CreateApiClient();
        var events = Enumerable.Range(0, MaxBatchSize + 1).Select(_ => """{"key":"k","value":1}""").ToList();
        var body = contentType == "application/json" ? "[" + string.Join(",", events) + "]" : string.Join("\n", events);

        var response = await client.AssertProducesNothingAsync(() => client.PostAsync(ApiRequests.Batch, body, contentType));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "batch-too-large");
    }

    private IngestApiFactory CreateApi() => new(topic.BootstrapServers, new Dictionary<string, string?>
    {
        ["Ingest:MaxBodyBytes"] = MaxBodyBytes.ToString(),
        ["Ingest:MaxBatchSize"] = MaxBatchSize.ToString(),
    });
}
