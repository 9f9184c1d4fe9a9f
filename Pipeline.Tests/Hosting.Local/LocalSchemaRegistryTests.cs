using Confluent.SchemaRegistry;

namespace Pipeline.Tests.Hosting.Local;

/// <summary>
/// The local mode's in-process registry, through Confluent's own client: what a producer and a
/// consumer of the pipeline ask of it, and BACKWARD compatibility enforced at registration.
/// </summary>
public sealed class LocalSchemaRegistryTests : IAsyncLifetime
{
    // The event schema with one more field, optional with a default: a compatible change.
    internal static readonly string EventWithSource = WithField(RecordSchemas.Event, """{ "name": "source", "type": ["null", "string"], "default": null }""");

    // The event schema with a required field the old records do not have: an incompatible change.
    private static readonly string EventWithRequiredUnit = WithField(RecordSchemas.Event, """{ "name": "unit", "type": "string" }""");

    internal static string WithField(string schema, string field)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(schema)!;
        node["fields"]!.AsArray().Add(System.Text.Json.Nodes.JsonNode.Parse(field));
        return node.ToJsonString();
    }

    private LocalSchemaRegistry _registry = null!;
    private CachedSchemaRegistryClient _client = null!;

    public async Task InitializeAsync()
    {
        _registry = await LocalSchemaRegistry.StartAsync();
        _client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry.DisposeAsync();
    }

    [Fact]
    public async Task ListensOnLoopbackOnly()
    {
        Assert.StartsWith("http://127.0.0.1:", _registry.Url, StringComparison.Ordinal);
        using var http = new HttpClient();
        Assert.Equal("[]", await http.GetStringAsync(_registry.Url + "/subjects"));
    }

    [Fact]
    public async Task ARegisteredSchemaIsServedByIdAndAsTheSubjectsLatest()
    {
        var id = await _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(RecordSchemas.Event, SchemaType.Avro));

        var byId = await _client.GetSchemaAsync(id);
        var latest = await _client.GetLatestSchemaAsync(RecordSchemas.EventSubject);

        Assert.Equal(global::Avro.Schema.Parse(RecordSchemas.Event).ToString(), global::Avro.Schema.Parse(byId.SchemaString).ToString());
        Assert.Equal(id, latest.Id);
        Assert.Equal(1, latest.Version);
        Assert.Equal([RecordSchemas.EventSubject], await _client.GetAllSubjectsAsync());
        // The same schema again is the same id and no new version.
        Assert.Equal(id, await _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(RecordSchemas.Event, SchemaType.Avro)));
        Assert.Equal([1], await _client.GetSubjectVersionsAsync(RecordSchemas.EventSubject));
    }

    [Fact]
    public async Task AnIncompatibleChangeIsRefusedAtRegistrationNamingTheField()
    {
        await _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(RecordSchemas.Event, SchemaType.Avro));

        var refused = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(EventWithRequiredUnit, SchemaType.Avro)));

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Contains("incompatible with an earlier schema for subject \"events-value\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains("READER_FIELD_MISSING_DEFAULT_VALUE", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'unit'", refused.Message, StringComparison.Ordinal);
        Assert.False(await _client.IsCompatibleAsync(RecordSchemas.EventSubject, new Schema(EventWithRequiredUnit, SchemaType.Avro)));
        Assert.Equal([1], await _client.GetSubjectVersionsAsync(RecordSchemas.EventSubject));
    }

    [Fact]
    public async Task ANewOptionalFieldWithADefaultIsACompatibleNewVersion()
    {
        var first = await _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(RecordSchemas.Event, SchemaType.Avro));

        Assert.True(await _client.IsCompatibleAsync(RecordSchemas.EventSubject, new Schema(EventWithSource, SchemaType.Avro)));
        var second = await _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(EventWithSource, SchemaType.Avro));

        Assert.NotEqual(first, second);
        Assert.Equal([1, 2], await _client.GetSubjectVersionsAsync(RecordSchemas.EventSubject));
        Assert.Equal(second, (await _client.GetLatestSchemaAsync(RecordSchemas.EventSubject)).Id);
    }

    [Fact]
    public async Task ChangingAFieldsTypeIsRefused()
    {
        await _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(RecordSchemas.Event, SchemaType.Avro));
        var valueAsString = RecordSchemas.Event.Replace("\"type\": \"double\"", "\"type\": \"string\"", StringComparison.Ordinal);
        Assert.NotEqual(RecordSchemas.Event, valueAsString);

        var refused = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            _client.RegisterSchemaAsync(RecordSchemas.EventSubject, new Schema(valueAsString, SchemaType.Avro)));

        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Contains("TYPE_MISMATCH", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownIdAndAnInvalidSchemaAreTheRegistrysErrors()
    {
        var unknown = await Assert.ThrowsAsync<SchemaRegistryException>(() => _client.GetSchemaAsync(4242));
        Assert.Equal(40403, unknown.ErrorCode);

        var invalid = await Assert.ThrowsAsync<SchemaRegistryException>(() =>
            _client.RegisterSchemaAsync("x-value", new Schema("""{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}""", SchemaType.Avro)));
        Assert.Equal(42201, invalid.ErrorCode);
    }

    [Fact]
    public async Task EverySubjectIsBackward()
    {
        using var http = new HttpClient();
        var config = await http.GetFromJsonAsync<Dictionary<string, string>>(_registry.Url + "/config");
        Assert.Equal("BACKWARD", config!["compatibilityLevel"]);
    }
}
