namespace Pipeline.Tests.Api.Events;

/// <summary>Every bad-input class gets 400 with its code, and produces nothing (checked on the topic's own offsets).</summary>
public sealed class EventValidationTests(SinglePartitionApi fixture) : IClassFixture<SinglePartitionApi>
{
    private readonly HttpClient _client = fixture.Client;

    public static TheoryData<string, string, string> InvalidEvents()
    {
        var now = DateTimeOffset.UtcNow;
        return new TheoryData<string, string, string>
        {
            { """{"value":1}""", "key", "key.required" },
            { """{"key":null,"value":1}""", "key", "key.required" },
            { """{"key":"","value":1}""", "key", "key.empty" },
            { """{"key":42,"value":1}""", "key", "key.not-a-string" },
            { "{\"key\":\"" + new string('k', 257) + "\",\"value\":1}", "key", "key.too-long" },
            { """{"key":"tab\there","value":1}""", "key", "key.control-character" },
            { """{"key":"nul\u0000","value":1}""", "key", "key.control-character" },
            { "{\"key\":\"del\u007F\",\"value\":1}", "key", "key.control-character" },
            { """{"key":"c1\u0085","value":1}""", "key", "key.control-character" },
            { """{"key":"lone \ud800 surrogate","value":1}""", "key", "invalid-unicode" },
            { """{"key":"lone low \udc00","value":1}""", "key", "invalid-unicode" },
            { """{"key":"rtl\u202Eoverride","value":1}""", "key", "key.invisible-character" },
            { """{"key":"isolate\u2066","value":1}""", "key", "key.invisible-character" },
            { """{"key":"\u200Fmark","value":1}""", "key", "key.invisible-character" },
            { """{"key":"arabic\u061Cmark","value":1}""", "key", "key.invisible-character" },
            { """{"key":"zero\u200Bwidth","value":1}""", "key", "key.invisible-character" },
            { """{"key":"joiner\u200D","value":1}""", "key", "key.invisible-character" },
            { """{"key":"word\u2060joiner","value":1}""", "key", "key.invisible-character" },
            { """{"key":"\uFEFFbom","value":1}""", "key", "key.invisible-character" },
            { """{"key":"line\u2028separator","value":1}""", "key", "key.invisible-character" },
            { """{"key":"paragraph\u2029","value":1}""", "key", "key.invisible-character" },
            { """{"key":" ","value":1}""", "key", "key.whitespace-only" },
            { """{"key":"\u00A0\u3000\u2003","value":1}""", "key", "key.whitespace-only" },
            { """{"key":"cafe\u0301","value":1}""", "key", "key.not-nfc" },
            { """{"key":"\u212B","value":1}""", "key", "key.not-nfc" },
            { """{"key":"k"}""", "value", "value.required" },
            { """{"key":"k","value":null}""", "value", "value.required" },
            { """{"key":"k","value":"21.5"}""", "value", "value.not-a-number" },
            { """{"key":"k","value":"NaN"}""", "value", "value.not-a-number" },
            { """{"key":"k","value":"Infinity"}""", "value", "value.not-a-number" },
            { """{"key":"k","value":true}""", "value", "value.not-a-number" },
            { """{"key":"k","value":{"amount":1}}""", "value", "value.not-a-number" },
            { """{"key":"k","value":[1]}""", "value", "value.not-a-number" },
            { """{"key":"k","value":1e400}""", "value", "value.not-finite" },
            { """{"key":"k","value":-1e309}""", "value", "value.not-finite" },
            { """{"key":"k","value":1.7e308}""", "value", "value-out-of-range" },
            { """{"key":"k","value":-1.7e308}""", "value", "value-out-of-range" },
            { """{"key":"k","value":1.0000001e300}""", "value", "value-out-of-range" },
            { """{"key":"k","value":-1.0000001E+300}""", "value", "value-out-of-range" },
            { """{"id":"","key":"k","value":1}""", "id", "id.empty" },
            { """{"id":7,"key":"k","value":1}""", "id", "id.not-a-string" },
            { "{\"id\":\"" + new string('i', 129) + "\",\"key\":\"k\",\"value\":1}", "id", "id.too-long" },
            { """{"id":"nul\u0000","key":"k","value":1}""", "id", "id.control-character" },
            { """{"id":"bell\u0007","key":"k","value":1}""", "id", "id.control-character" },
            { """{"id":"c1\u009B","key":"k","value":1}""", "id", "id.control-character" },
            { """{"id":"zero\u200Bwidth","key":"k","value":1}""", "id", "id.invisible-character" },
            { """{"id":"\u202Edi","key":"k","value":1}""", "id", "id.invisible-character" },
            { """{"id":"\uFEFF1","key":"k","value":1}""", "id", "id.invisible-character" },
            { """{"id":"   ","key":"k","value":1}""", "id", "id.whitespace-only" },
            { """{"id":"\ud800","key":"k","value":1}""", "id", "invalid-unicode" },
            { """{"key":"k","value":1,"vaule":2}""", "vaule", "unknown-property" },
            { """{"Key":"k","value":1}""", "Key", "unknown-property" },
            { """{"key":"k","value":1,"extra":{"nested":[1,2]}}""", "extra", "unknown-property" },
            { """{"key":"k","key":"j","value":1}""", "key", "duplicate-property" },
            { """{"key":"k","value":1,"value":2}""", "value", "duplicate-property" },
            { """{"key":"k","value":1,"timestamp":1738324800}""", "timestamp", "timestamp.not-a-string" },
            { """{"key":"k","value":1,"timestamp":"2025-01-31T12:00:00"}""", "timestamp", "timestamp.invalid-format" },
            { """{"key":"k","value":1,"timestamp":"2025-01-31"}""", "timestamp", "timestamp.invalid-format" },
            { """{"key":"k","value":1,"timestamp":"31/01/2025 12:00 +00:00"}""", "timestamp", "timestamp.invalid-format" },
            { """{"key":"k","value":1,"timestamp":"2025-02-30T00:00:00Z"}""", "timestamp", "timestamp.invalid-format" },
            { """{"key":"k","value":1,"timestamp":"2025-01-31T24:00:00Z"}""", "timestamp", "timestamp.invalid-format" },
            { """{"key":"k","value":1,"timestamp":"2025-01-31T12:00:00+15:00"}""", "timestamp", "timestamp.invalid-format" },
            { $$"""{"key":"k","value":1,"timestamp":"{{now.AddDays(-8):O}}"}""", "timestamp", "timestamp.too-old" },
            // The rows are made when the tests are discovered, which can be many minutes before this
            // one runs in a full suite: far enough ahead to stay past the 5-minute skew until then.
            { $$"""{"key":"k","value":1,"timestamp":"{{now.AddHours(6):O}}"}""", "timestamp", "timestamp.in-future" },
            { """[{"key":"k","value":1}]""", "$", "event.not-an-object" },
            { "\"just a string\"", "$", "event.not-an-object" },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public async Task InvalidEventGets400WithItsFieldAndCodeAndProducesNothing(string body, string field, string code)
    {
        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Events, body));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Contains(code, problem.FieldCodes(field));
        Assert.NotEmpty(problem.GetProperty("errors").GetProperty(field).EnumerateArray());
    }

    [Theory]
    [InlineData("1e300", 1e300)]
    [InlineData("-1e300", -1e300)]
    [InlineData("1.0E+300", 1e300)]
    [InlineData("5e-324", double.Epsilon)]
    [InlineData("-5e-324", -double.Epsilon)]
    public async Task ValueAtTheEdgeOfTheRangeIsAcceptedAndProducedUnchanged(string value, double expected)
    {
        var response = await _client.PostAsync(ApiRequests.Events, $$"""{"key":"edge","value":{{value}}}""");

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var body = await response.ReadJsonAsync();
        var record = fixture.ReadAt(body.GetProperty("partition").GetInt32(), body.GetProperty("offset").GetInt64());
        Assert.Equal(expected, PipelineJson.Deserialize<PipelineEvent>(record.Message.Value).Value);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/x-ndjson")]
    public async Task BatchWithAValueOutOfRangeProducesNothingAndNamesTheEventByIndex(string contentType)
    {
        var events = Enumerable.Range(0, 4).Select(i => ApiRequests.NewEvent(out _)).ToList();
        events[2] = """{"key":"k","value":1.7e308}""";
        var body = contentType == "application/json" ? "[" + string.Join(",", events) + "]" : string.Join("\n", events);

        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, body, contentType));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["value-out-of-range"], problem.FieldCodes("[2].value"));
        Assert.Equal(1, problem.GetProperty("errorCount").GetInt32());
    }

    [Fact]
    public async Task NonNfcKeyIsRefusedWithWhereItDiffersNotNormalised()
    {
        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Events, """{"key":"cafe\u0301","value":1}"""));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        var message = problem.GetProperty("errors").GetProperty("key")[0].GetString();
        Assert.Contains("at character 4 (U+0065 U+0301)", message);
    }

    public static TheoryData<string> MalformedBodies() => new()
    {
        """{"key":"k","value":""",
        """{'key':'k','value':1}""",
        """{"key":"k","value":1}garbage""",
        """{"key":"k","value":1}{"key":"k","value":2}""",
        """{"key":"k","value":1,}""",
        """{"key":"k",/* comment */"value":1}""",
        """{"key":"k","value":NaN}""",
        """{"key":"k","value":Infinity}""",
        """{"key":"k","value":01}""",
        "{\"key\":\"raw\ttab\",\"value\":1}",
        new string('[', 100) + new string(']', 100),
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task MalformedJsonGets400MalformedJsonAndProducesNothing(string body)
    {
        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Events, body));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-json");
        Assert.Contains("LineNumber", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task InvalidUtf8InAKeyGets400InvalidUnicodeAndProducesNothing()
    {
        byte[] body = [.. "{\"key\":\"bad"u8, 0xC3, 0x28, .. "\",\"value\":1}"u8];

        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Events, body));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["invalid-unicode"], problem.FieldCodes("key"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \r\n\t ")]
    public async Task EmptyBodyGets400EmptyBodyAndProducesNothing(string body)
    {
        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Events, body));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "empty-body");
    }

    [Fact]
    public async Task BatchWithOneBadEventProducesNothingAndNamesTheEventByIndex()
    {
        var events = Enumerable.Range(0, 5).Select(i => ApiRequests.NewEvent(out _)).ToList();
        events[3] = """{"key":"k","value":"21.5"}""";
        var idsBefore = fixture.ReadAllIds();

        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, "[" + string.Join(",", events) + "]"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["value.not-a-number"], problem.FieldCodes("[3].value"));
        Assert.Equal(1, problem.GetProperty("errorCount").GetInt32());
        var idsAfter = fixture.ReadAllIds();
        Assert.Equal(idsBefore.Count + 2, idsAfter.Count); // the two markers, nothing of the batch
    }

    [Fact]
    public async Task NdjsonBatchWithOneBadLineProducesNothingAndNamesTheEventByIndex()
    {
        var body = ApiRequests.NewEvent(out _) + "\n\n" + ApiRequests.NewEvent(out _) + "\n" + """{"value":1}""" + "\n";

        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, body, "application/x-ndjson"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["key.required"], problem.FieldCodes("[2].key"));
    }

    [Fact]
    public async Task NdjsonBatchWithAMalformedLineNamesTheLine()
    {
        var body = ApiRequests.NewEvent(out _) + "\n" + ApiRequests.NewEvent(out _) + "\n{\"key\":\n";

        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, body, "application/x-ndjson"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "malformed-json");
        Assert.StartsWith("Line 3 (event [2])", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task JsonBatchThatIsNotAnArrayGets400()
    {
        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, ApiRequests.NewEvent(out _)));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["batch.not-an-array"], problem.FieldCodes("$"));
    }

    [Theory]
    [InlineData("[]", "application/json", "empty-batch")]
    [InlineData("[ ]", "application/json", "empty-batch")]
    [InlineData("", "application/json", "empty-body")]
    [InlineData("\n\n  \n", "application/x-ndjson", "empty-body")]
    public async Task EmptyBatchGets400AndProducesNothing(string body, string contentType, string code)
    {
        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, body, contentType));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, code);
    }

    [Fact]
    public async Task BatchWithManyBadEventsListsTheFirstHundredErrorsAndCountsThemAll()
    {
        var body = "[" + string.Join(",", Enumerable.Repeat("""{"key":"","value":"x"}""", 300)) + "]";

        var response = await _client.AssertProducesNothingAsync(() => _client.PostAsync(ApiRequests.Batch, body));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(600, problem.GetProperty("errorCount").GetInt32());
        Assert.Equal(100, problem.GetProperty("errorCodes").EnumerateObject().Sum(field => field.Value.GetArrayLength()));
    }

    [Fact]
    public async Task ValidationProblemListsEveryFaultOfAnEvent()
    {
        var response = await _client.PostAsync(ApiRequests.Events, """{"id":3,"key":"","value":"1","timestamp":"soon","color":"red"}""");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["id.not-a-string"], problem.FieldCodes("id"));
        Assert.Equal(["key.empty"], problem.FieldCodes("key"));
        Assert.Equal(["value.not-a-number"], problem.FieldCodes("value"));
        Assert.Equal(["timestamp.invalid-format"], problem.FieldCodes("timestamp"));
        Assert.Equal(["unknown-property"], problem.FieldCodes("color"));
        Assert.Equal(5, problem.GetProperty("errorCount").GetInt32());
    }

    [Fact]
    public async Task ProblemIsJsonEvenWhenTheClientAcceptsOnlyText()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiRequests.Events)
        {
            Content = new StringContent("""{"key":"k"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Clear();
        request.Headers.TryAddWithoutValidation("Accept", "text/html");
        using var client = fixture.Api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", IngestApiFactory.ApiKey);

        var response = await client.SendAsync(request);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "validation-failed");
    }
}
