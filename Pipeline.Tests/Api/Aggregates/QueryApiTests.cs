using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.Api.Aggregates;
using static Pipeline.Tests.Api.Aggregates.QueryData;

namespace Pipeline.Tests.Api.Aggregates;

public sealed class QueryApiTests(QueryApiFixture fixture) : IClassFixture<QueryApiFixture>
{
    private readonly HttpClient _client = fixture.CreateClient();

    [Fact]
    public async Task AllTimeTotalsOfAKeyAreTheNewestVersionWithExactFigures()
    {
        var response = await _client.GetAsync("/api/aggregates/q-alpha");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var totals = await response.Content.ReadFromJsonAsync<AggregateTotals>();
        Assert.Equal(new AggregateTotals("q-alpha", 30, 10.5, -4.25, 9.75, 10.5 / 30, Alpha.UpdatedAt), totals);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(["key", "count", "sum", "min", "max", "mean", "updatedAt"], json.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task AKeyNeverSeenAnswers404ProblemWithAStableCode()
    {
        var response = await _client.GetAsync("/api/aggregates/q-never-seen");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("key-not-found", problem.RootElement.GetProperty("code").GetString());
        Assert.Equal(404, problem.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task AKeyWithReservedUrlCharactersIsFoundWhenEscaped()
    {
        var state = Window("q-odd key+ä?&#", "1m", Start, count: 3, version: 1) with { Window = WindowNames.AllTime, WindowStart = WindowNames.AllTimeStart, WindowEnd = null, Final = false };
        await fixture.Kafka.ProduceAsync([state]);
        await fixture.WaitUntilStoredAsync([state]);

        var totals = await _client.GetFromJsonAsync<AggregateTotals>("/api/aggregates/" + Uri.EscapeDataString(state.Key));

        Assert.Equal(state.Key, totals!.Key);
        Assert.Equal(3, totals.Count);
    }

    [Fact]
    public async Task WindowsOfOneSizeComeInWindowOrderWithExactFigures()
    {
        var page = await _client.GetFromJsonAsync<WindowPage>("/api/aggregates/q-alpha/windows?size=1h");

        Assert.NotNull(page);
        Assert.Equal("q-alpha", page.Key);
        Assert.Equal("1h", page.Size);
        Assert.Null(page.NextCursor);
        var expected = Enumerable.Range(0, 3)
            .Select(i => Window("q-alpha", "1h", Start.AddHours(i), 100 + i, 7))
            .Select(w => new WindowItem(w.WindowStart, w.WindowEnd!.Value, w.Count, w.Sum, w.Min, w.Max, w.Mean, w.Final, w.UpdatedAt));
        Assert.Equal(expected, page.Items);
    }

    [Fact]
    public async Task FromIsInclusiveAndToExclusive()
    {
        var from = Uri.EscapeDataString(Start.AddMinutes(10).ToString("O"));
        var to = Uri.EscapeDataString(Start.AddMinutes(13).ToOffset(TimeSpan.FromHours(2)).ToString("O"));

        var page = await _client.GetFromJsonAsync<WindowPage>($"/api/aggregates/q-alpha/windows?size=1m&from={from}&to={to}");

        Assert.Equal([Start.AddMinutes(10), Start.AddMinutes(11), Start.AddMinutes(12)], page!.Items.Select(item => item.WindowStart));
        Assert.Equal([11L, 12, 13], page.Items.Select(item => item.Count));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(19)]
    [InlineData(56)]
    [InlineData(57)]
    [InlineData(1000)]
    public async Task PaginationReturnsEveryWindowExactlyOnceAcrossPages(int limit)
    {
        var seen = new List<WindowItem>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var url = $"/api/aggregates/q-alpha/windows?size=1m&limit={limit}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var page = await _client.GetFromJsonAsync<WindowPage>(url);
            Assert.InRange(page!.Items.Count, 1, limit);
            seen.AddRange(page.Items);
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null && pages < 100);

        Assert.Equal(Enumerable.Range(0, AlphaMinuteWindows).Select(i => Start.AddMinutes(i)), seen.Select(item => item.WindowStart));
        Assert.Equal((AlphaMinuteWindows + limit - 1) / limit, pages);
    }

    [Theory]
    [InlineData("size=5m", "unknown-window-size")]
    [InlineData("size=all", "unknown-window-size")]
    [InlineData("from=yesterday", "invalid-range")]
    [InlineData("from=2030-01-02", "invalid-range")]
    [InlineData("from=2030-01-02T03:00:00", "invalid-range")]
    [InlineData("from=2030-01-02T04:00:00Z&to=2030-01-02T03:00:00Z", "invalid-range")]
    [InlineData("from=2030-01-02T03:00:00Z&to=2030-01-02T03:00:00Z", "invalid-range")]
    [InlineData("limit=0", "invalid-limit")]
    [InlineData("limit=1001", "invalid-limit")]
    [InlineData("cursor=not-a-cursor", "invalid-cursor")]
    public async Task AnUnknownSizeABadRangeALimitOutOfBoundsOrABadCursorAnswers400WithItsCode(string query, string code)
    {
        var response = await _client.GetAsync("/api/aggregates/q-alpha/windows?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task AKeyWithNoWindowsAnswersAnEmptyLastPage()
    {
        var page = await _client.GetFromJsonAsync<WindowPage>("/api/aggregates/q-beta/windows?size=1m");

        Assert.Empty(page!.Items);
        Assert.Null(page.NextCursor);
    }

    [Theory]
    [InlineData(null, new[] { "q-alpha", "q-beta", "q-gamma" })]
    [InlineData("count", new[] { "q-alpha", "q-beta", "q-gamma" })]
    [InlineData("sum", new[] { "q-beta", "q-gamma", "q-alpha" })]
    [InlineData("updatedAt", new[] { "q-alpha", "q-gamma", "q-beta" })]
    public async Task TopKeysAreOrderedByTheRequestedAllTimeFigure(string? orderBy, string[] expected)
    {
        var top = await _client.GetFromJsonAsync<TopKeys>("/api/keys?limit=3" + (orderBy is null ? "" : "&orderBy=" + orderBy));

        Assert.Equal(orderBy ?? "count", top!.OrderBy);
        Assert.Equal(expected, top.Items.Select(item => item.Key));
        Assert.Equal(new AggregateTotals("q-beta", 20, 99.25, 0.5, 40, 99.25 / 20, Beta.UpdatedAt), top.Items.Single(item => item.Key == "q-beta"));
    }

    [Theory]
    [InlineData("orderBy=mean", "unknown-order")]
    [InlineData("limit=0", "invalid-limit")]
    public async Task TopKeysRefuseAnUnknownOrderOrALimitOutOfBounds(string query, string code)
    {
        var response = await _client.GetAsync("/api/keys?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task TheStreamDeliversTheChangeOfAFreshlyWrittenAggregateOfItsKeyOnly()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/aggregates/stream?key=q-stream");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        await using var events = SseParser.Create(body).EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("heartbeat", events.Current.EventType);

        var other = Window("q-stream-other", "1m", Start, count: 5, version: 1);
        var fresh = Window("q-stream", "1m", Start.AddYears(-20), count: 4, version: 3);
        await fixture.Kafka.ProduceAsync([other, fresh]);

        SseItem<string> change;
        do
        {
            Assert.True(await events.MoveNextAsync());
            change = events.Current;
        }
        while (change.EventType == "heartbeat");
        Assert.Equal("aggregate", change.EventType);
        var pushed = JsonSerializer.Deserialize<AggregateChange>(change.Data, JsonSerializerOptions.Web);
        Assert.Equal(
            new AggregateChange("q-stream", "1m", fresh.WindowStart, fresh.WindowEnd, 4, fresh.Sum, fresh.Min, fresh.Max, fresh.Mean, fresh.Final, 3, fresh.UpdatedAt),
            pushed);
    }

    [Fact]
    public async Task AStreamThatFallsBehindIsToldHowManyChangesItLostAndKeepsTheNewest()
    {
        await using var api = fixture.Api.WithWebHostBuilder(host => host.UseSetting("Api:Streams:QueueCapacity", "2"));
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", QueryApiFixture.ApiKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/aggregates/stream?key=q-burst");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        await using var events = SseParser.Create(body).EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("heartbeat", events.Current.EventType);
        await ListeningAsync(api, timeout.Token);

        // One notification of 200 changes: the fan-out queues them far faster than any client reads.
        var burst = Enumerable.Range(1, 200).Select(version => Window("q-burst", "1m", Start, count: version, version: version)).ToList();
        await using (var connection = await fixture.Database.OpenConnectionAsync(timeout.Token))
        {
            foreach (var payload in AggregateChangeNotifications.Payloads(burst))
            {
                await using var notify = new NpgsqlCommand("SELECT pg_notify(@channel, @payload)", connection);
                notify.Parameters.AddWithValue("channel", AggregateChangeNotifications.Channel);
                notify.Parameters.AddWithValue("payload", payload);
                await notify.ExecuteNonQueryAsync(timeout.Token);
            }
        }

        var received = new List<AggregateChange>();
        var dropped = 0;
        while (received.Count + dropped < burst.Count && await events.MoveNextAsync())
        {
            switch (events.Current.EventType)
            {
                case "aggregate":
                    received.Add(JsonSerializer.Deserialize<AggregateChange>(events.Current.Data, JsonSerializerOptions.Web)!);
                    break;
                case "dropped":
                    Assert.DoesNotContain(received, change => change.Version == 200); // told before the changes after the gap
                    dropped += JsonDocument.Parse(events.Current.Data).RootElement.GetProperty("dropped").GetInt32();
                    break;
            }
        }

        Assert.Equal(burst.Count, received.Count + dropped);
        Assert.InRange(dropped, 1, burst.Count - 1);
        Assert.Equal(200, received[^1].Version);
        Assert.Equal(received.OrderBy(change => change.Version).Select(change => change.Version), received.Select(change => change.Version));
    }

    /// <summary>
    /// Waits until a new API host listens for the sink's notifications: its streams open at once,
    /// but a notification sent before its LISTEN reaches none of them (CI once sent the burst first).
    /// </summary>
    private static async Task ListeningAsync(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Pipeline.Api.ApiAssembly> api, CancellationToken cancellationToken)
    {
        var feed = api.Services.GetRequiredService<AggregateChangeFeed>();
        while ((await feed.CheckHealthAsync(new HealthCheckContext(), cancellationToken)).Status != HealthStatus.Healthy)
        {
            await Task.Delay(50, cancellationToken);
        }
    }

    [Fact]
    public async Task TheSinkHostIsHealthyAndItsHealthCoversPostgresKafkaAndItsOwnWrites()
    {
        using var sinkClient = fixture.Sink.CreateClient();
        var health = fixture.Sink.Services.GetRequiredService<HealthCheckService>();

        var report = await health.CheckHealthAsync();
        var response = await sinkClient.GetAsync("/health");

        Assert.True(report.Status == HealthStatus.Healthy,
            string.Join("; ", report.Entries.Select(e => $"{e.Key}={e.Value.Status} {e.Value.Description} {e.Value.Exception?.Message}")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("aggregate-sink", report.Entries.Keys);
        Assert.Contains("kafka-consumer", report.Entries.Keys);
        Assert.Contains(report.Entries.Keys, name => name.Contains("postgres", StringComparison.OrdinalIgnoreCase));
    }
}
