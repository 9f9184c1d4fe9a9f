using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.TestHost;
using Microsoft.OpenApi;

namespace Pipeline.Tests.Api.Aggregates;

public sealed class QueryApiOpenApiTests(QueryApiFixture fixture) : IClassFixture<QueryApiFixture>
{
    [Theory]
    [InlineData("/api/aggregates/{key}", "GetAggregateTotals", "application/json")]
    [InlineData("/api/aggregates/{key}/windows", "GetAggregateWindows", "application/json")]
    [InlineData("/api/keys", "GetTopKeys", "application/json")]
    [InlineData("/api/totals", "GetTotalsOfAnyKey", "application/json")]
    [InlineData("/api/windows", "GetWindowsOfAnyKey", "application/json")]
    [InlineData("/api/aggregates/stream", "StreamAggregateChanges", "text/event-stream")]
    public async Task EveryQueryEndpointIsDescribedWithANameASummaryATagAndAnExample(string path, string operationId, string contentType)
    {
        // The API's own OpenAPI set-up belongs to the ingest half; here the document is generated on demand.
        // Called through a delegate: a direct call would make the OpenAPI source generator intercept it
        // in this project, which would then need the interceptors feature switched on.
        Func<IServiceCollection, IServiceCollection> addOpenApi = OpenApiServiceCollectionExtensions.AddOpenApi;
        await using var api = fixture.Api.WithWebHostBuilder(host => host.ConfigureTestServices(services => addOpenApi(services)));
        var provider = api.Services.GetRequiredKeyedService<IOpenApiDocumentProvider>("v1");

        var document = await provider.GetOpenApiDocumentAsync();

        var operation = document.Paths[path].Operations![HttpMethod.Get];
        Assert.Equal(operationId, operation.OperationId);
        Assert.False(string.IsNullOrWhiteSpace(operation.Summary));
        Assert.False(string.IsNullOrWhiteSpace(operation.Description));
        Assert.Contains(operation.Tags!, tag => tag.Name == "Aggregates");
        Assert.NotNull(operation.Responses!["200"].Content![contentType].Example);
    }

    [Theory]
    [InlineData("/api/aggregates/{key}/windows")]
    [InlineData("/api/windows")]
    public async Task EveryWindowParameterIsDescribedAndLimitIsAnInteger(string path)
    {
        Func<IServiceCollection, IServiceCollection> addOpenApi = OpenApiServiceCollectionExtensions.AddOpenApi;
        await using var api = fixture.Api.WithWebHostBuilder(host => host.ConfigureTestServices(services => addOpenApi(services)));
        var provider = api.Services.GetRequiredKeyedService<IOpenApiDocumentProvider>("v1");

        var document = await provider.GetOpenApiDocumentAsync();

        var parameters = document.Paths[path].Operations![HttpMethod.Get].Parameters!;
        Assert.Equal(["cursor", "from", "key", "limit", "size", "to"], parameters.Select(p => p.Name!).Order());
        Assert.All(parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description), p.Name));
        Assert.All(parameters.Where(p => p.Name != "key"), p => Assert.Equal(ParameterLocation.Query, p.In));
        Assert.Equal(JsonSchemaType.Integer, parameters.Single(p => p.Name == "limit").Schema!.Type);
    }
}
