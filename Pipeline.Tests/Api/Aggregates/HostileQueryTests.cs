using System.Buffers.Binary;
using System.Buffers.Text;
using Microsoft.AspNetCore.Hosting;
using Pipeline.Api.Aggregates;
using static Pipeline.Tests.Api.Aggregates.QueryData;

namespace Pipeline.Tests.Api.Aggregates;

/// <summary>What a hostile or careless client sends as query parameters: each answered with its documented 400 code.</summary>
public sealed class HostileQueryTests(QueryApiFixture fixture) : IClassFixture<QueryApiFixture>
{
    private readonly HttpClient _client = fixture.CreateClient();

    [Theory]
    [InlineData("/api/aggregates/q-alpha/windows?limit=abc")]
    [InlineData("/api/aggregates/q-alpha/windows?limit=2147483648")]
    [InlineData("/api/aggregates/q-alpha/windows?limit=99999999999999999999")]
    [InlineData("/api/aggregates/q-alpha/windows?limit=1.5")]
    [InlineData("/api/aggregates/q-alpha/windows?limit=-1")]
    [InlineData("/api/aggregates/q-alpha/windows?limit=")]
    [InlineData("/api/keys?limit=abc")]
    [InlineData("/api/keys?limit=2147483648")]
    [InlineData("/api/keys?limit=%20")]
    public async Task ALimitThatIsNotAWholeNumberInRangeIsInvalidLimitNotABindingFailure(string url)
    {
        var response = await _client.GetAsync(url);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-limit");
    }

    public static TheoryData<string, string> ForgedCursors()
    {
        // The old cursor format, 8 bytes of microseconds: Int64.MaxValue used to wrap round to 1969.
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, long.MaxValue);
        var maxMicros = Base64Url.EncodeToString(bytes);
        BinaryPrimitives.WriteInt64BigEndian(bytes, (QueryData.Start.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        var plausible = Base64Url.EncodeToString(bytes);
        return new TheoryData<string, string>
        {
            { "old format, Int64.MaxValue", maxMicros },
            { "old format, a real window start", plausible },
            { "32 characters of nothing", new string('A', 32) },
            { "32 characters, all bits set", new string('_', 32) },
            { "not base64url", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" },
            { "padding", "AAcO0Cq7ugCJ3Lx0pZ1yQ0m1s4TzVh8=" },
            { "too long", new string('A', 4096) },
        };
    }

    [Theory]
    [MemberData(nameof(ForgedCursors))]
    public async Task ACursorTheApiDidNotIssueIsInvalidCursor(string how, string cursor)
    {
        var response = await _client.GetAsync("/api/aggregates/q-alpha/windows?size=1m&cursor=" + Uri.EscapeDataString(cursor));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-cursor");
        Assert.False(problem.ToString().Contains("   at ", StringComparison.Ordinal), how);
    }

    [Theory]
    [InlineData("another key", "q-beta", "1m", null)]
    [InlineData("another size", "q-alpha", "1h", null)]
    [InlineData("one character changed", "q-alpha", "1m", 20)]
    [InlineData("its instant changed", "q-alpha", "1m", 3)]
    public async Task ACursorIssuedForAnotherPageOrAlteredIsInvalidCursor(string how, string key, string size, int? flipAt)
    {
        var first = await _client.GetFromJsonAsync<WindowPage>("/api/aggregates/q-alpha/windows?size=1m&limit=10");
        var cursor = first!.NextCursor!;
        if (flipAt is { } at)
        {
            cursor = cursor[..at] + (cursor[at] == 'A' ? 'B' : 'A') + cursor[(at + 1)..];
        }

        var response = await _client.GetAsync($"/api/aggregates/{key}/windows?size={size}&cursor={Uri.EscapeDataString(cursor)}");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-cursor");
        _ = how; // names the case in the test output
    }

    [Fact]
    public async Task TheCursorOfAPageLeadsToTheNextPage()
    {
        var first = await _client.GetFromJsonAsync<WindowPage>("/api/aggregates/q-alpha/windows?size=1m&limit=10");

        var second = await _client.GetFromJsonAsync<WindowPage>("/api/aggregates/q-alpha/windows?size=1m&limit=10&cursor=" + Uri.EscapeDataString(first!.NextCursor!));

        Assert.Equal(QueryData.Start.AddMinutes(10), second!.Items[0].WindowStart);
    }

    [Theory]
    [InlineData("/api/aggregates/q-alpha", HttpStatusCode.OK)]
    [InlineData("/api/aggregates/q-alpha/windows?size=1h", HttpStatusCode.OK)]
    [InlineData("/api/keys", HttpStatusCode.OK)]
    [InlineData("/api/aggregates/q-never-seen", HttpStatusCode.NotFound)]
    [InlineData("/api/aggregates/q-alpha/windows?limit=abc", HttpStatusCode.BadRequest)]
    public async Task HeadOnAReadEndpointAnswersWhatGetWouldWithoutTheBody(string url, HttpStatusCode expected)
    {
        using var get = await _client.GetAsync(url);
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));

        Assert.Equal(expected, get.StatusCode);
        Assert.Equal(expected, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("stream")]
    [InlineData("a/b")]
    [InlineData("/leading")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a%2Fb")]
    [InlineData("windows")]
    [InlineData("q odd+ä?&#=%")]
    public async Task EveryKeyThatCanBeWrittenCanBeReadThroughTheKeyParameter(string key)
    {
        var totals = Window(key, "1m", Start, count: 3, version: 1) with
        {
            Window = WindowNames.AllTime, WindowStart = WindowNames.AllTimeStart, WindowEnd = null, Final = false,
        };
        var window = Window(key, "1m", Start, count: 2, version: 1);
        await fixture.Kafka.ProduceAsync([totals, window]);
        await fixture.WaitUntilStoredAsync([totals, window]);
        var escaped = Uri.EscapeDataString(key);

        var readTotals = await _client.GetFromJsonAsync<AggregateTotals>("/api/totals?key=" + escaped);
        var readWindows = await _client.GetFromJsonAsync<WindowPage>("/api/windows?size=1m&key=" + escaped);

        Assert.Equal(key, readTotals!.Key);
        Assert.Equal(3, readTotals.Count);
        Assert.Equal(key, readWindows!.Key);
        Assert.Equal([Start], readWindows.Items.Select(item => item.WindowStart));
    }

    [Theory]
    [InlineData("/api/aggregates/a%2Fb")]
    [InlineData("/api/aggregates/a%2fb/windows")]
    public async Task AKeyInThePathWithAnEscapedSlashIsRefusedNotReadLiterally(string url)
    {
        var response = await _client.GetAsync(url);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "ambiguous-key-path");
    }

    [Theory]
    [InlineData("/api/totals?key=k%00k")]
    [InlineData("/api/windows?key=k%00k")]
    [InlineData("/api/totals?key=%E2%80%AEevil")]
    [InlineData("/api/totals?key=cafe%CC%81")]
    public async Task AKeyNoEventCanHaveIsRefusedWithTheRuleItBreaks(string url)
    {
        var response = await _client.GetAsync(url);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-query-key");
    }

    [Theory]
    [InlineData("/api/totals")]
    [InlineData("/api/totals?key=")]
    [InlineData("/api/windows?size=1m")]
    public async Task TheKeyParameterIsRequired(string url)
    {
        var response = await _client.GetAsync(url);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "key-parameter-required");
    }

    [Fact]
    public async Task StreamsPastTheCapOfAKeyAre429UntilOneCloses()
    {
        await using var api = fixture.Api.WithWebHostBuilder(host => host.UseSetting("Api:Streams:MaxOpenPerKey", "2"));
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", QueryApiFixture.ApiKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        async Task<HttpResponseMessage> OpenAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/aggregates/stream");
            request.Headers.Accept.ParseAdd("text/event-stream");
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }

        using var first = await OpenAsync();
        var second = await OpenAsync();
        using var third = await OpenAsync();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await third.AssertProblemAsync(HttpStatusCode.TooManyRequests, "too-many-streams");
        Assert.NotNull(third.Headers.RetryAfter?.Delta);

        second.Dispose();
        var reopened = await Eventually(async () => await OpenAsync(), response => response.StatusCode == HttpStatusCode.OK, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, reopened.StatusCode);
        reopened.Dispose();
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> attempt, Func<T, bool> done, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await attempt();
            if (done(result) || cancellationToken.IsCancellationRequested)
            {
                return result;
            }

            (result as IDisposable)?.Dispose();
            await Task.Delay(100, cancellationToken);
        }
    }
}
