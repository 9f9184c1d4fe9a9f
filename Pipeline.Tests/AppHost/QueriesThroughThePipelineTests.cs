using System.Net.ServerSentEvents;
using Pipeline.Api.Aggregates;

namespace Pipeline.Tests.AppHost;

/// <summary>Events with known values posted to the API come back, exactly, through every query endpoint.</summary>
[Collection(PipelineAppCollection.Name)]
public sealed class QueriesThroughThePipelineTests(PipelineAppFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PostedEventsAreServedWithExactFiguresByEveryQueryEndpointAndPushedOnTheStream()
    {
        using var api = fixture.CreateApiClient();
        var key = $"known-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;
        // Large values, so that this key leads the top keys by sum whatever other tests wrote.
        var events = new[] { 1_000_000.5, -2.25, 4_000_000, 8.75 }
            .Select((value, i) => new { id = $"{key}-{i}", key, value, timestamp = now.AddMilliseconds(i) })
            .ToList();

        using var timeout = new CancellationTokenSource(Patience);
        using var streamRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/aggregates/stream?key={Uri.EscapeDataString(key)}");
        using var stream = await api.SendAsync(streamRequest, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        await using var pushedEvents = SseParser.Create(await stream.Content.ReadAsStreamAsync(timeout.Token))
            .EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);

        using (var posted = await api.PostAsJsonAsync("/api/events/batch", events))
        {
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }

        // The stream pushes the all-time totals once they include all four events.
        AggregateChange? pushed = null;
        while (pushed is not { Window: "all", Count: 4 })
        {
            Assert.True(await pushedEvents.MoveNextAsync(), "The stream ended.");
            if (pushedEvents.Current.EventType == "aggregate")
            {
                pushed = JsonSerializer.Deserialize<AggregateChange>(pushedEvents.Current.Data, JsonSerializerOptions.Web);
                Assert.Equal(key, pushed!.Key);
            }
        }

        var sum = 1_000_000.5 - 2.25 + 4_000_000 + 8.75;
        var totals = await api.GetFromJsonAsync<AggregateTotals>($"/api/aggregates/{Uri.EscapeDataString(key)}");
        Assert.Equal((key, 4L, sum, -2.25, 4_000_000.0, sum / 4), (totals!.Key, totals.Count, totals.Sum, totals.Min, totals.Max, totals.Mean));
        Assert.Equal((pushed.Sum, pushed.Min, pushed.Max), (totals.Sum, totals.Min, totals.Max));

        foreach (var (size, length) in new[] { ("1m", TimeSpan.FromMinutes(1)), ("1h", TimeSpan.FromHours(1)) })
        {
            var expected = events.GroupBy(e => global::Pipeline.LoadGenerator.WindowSize.StartOf(e.timestamp, length))
                .ToDictionary(g => g.Key, g => (Count: (long)g.Count(), Sum: g.Sum(e => e.value)));
            var windows = await WaitForWindowsAsync(api, key, size, expected.Values.Sum(w => w.Count));
            Assert.Equal(expected.Keys.Order(), windows.Items.Select(w => w.WindowStart));
            Assert.All(windows.Items, w =>
            {
                Assert.Equal(expected[w.WindowStart], (w.Count, w.Sum));
                Assert.Equal(w.WindowStart + length, w.WindowEnd);
            });
        }

        var top = await api.GetFromJsonAsync<TopKeys>("/api/keys?orderBy=sum&limit=1");
        Assert.Equal((key, 4L, sum), (top!.Items[0].Key, top.Items[0].Count, top.Items[0].Sum));
    }

    private static async Task<WindowPage> WaitForWindowsAsync(HttpClient api, string key, string size, long events)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var page = await api.GetFromJsonAsync<WindowPage>($"/api/aggregates/{Uri.EscapeDataString(key)}/windows?size={size}");
            if (page!.Items.Sum(w => w.Count) == events || DateTime.UtcNow > deadline)
            {
                return page;
            }

            await Task.Delay(200);
        }
    }
}
