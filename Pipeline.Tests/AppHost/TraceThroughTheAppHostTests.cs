using Pipeline.Tests.AppHost.Otlp;
using SpanKind = Pipeline.Tests.AppHost.Otlp.Span.Types.SpanKind;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// One event followed across the real service processes, in the traces they export over OTLP
/// (what the dashboard shows): the caller's trace continues through the API, the stream processor
/// and the sink, and the sink's database write links to it.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class TraceThroughTheAppHostTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task AnEventPostedWithATraceparentIsOneTraceAcrossTheApiTheProcessorAndTheSinkProcesses()
    {
        // The test's own HttpClient must not add a traceparent of its own next to the caller's
        // (it would, while other tests in this process listen to HttpClient activities).
        using var api = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null })
        {
            BaseAddress = fixture.App.GetEndpoint("api", "http"),
        };
        api.DefaultRequestHeaders.Add("X-Api-Key", PipelineAppFixture.ApiKey);
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var callerSpanId = ActivitySpanId.CreateRandom().ToHexString();
        var key = $"traced-{Guid.NewGuid():N}";
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent($$"""{"key":"{{key}}","value":2.5}""", Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("traceparent", $"00-{traceId}-{callerSpanId}-01");

        using (var accepted = await api.SendAsync(post))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        var spans = await fixture.Traces.WaitForTraceAsync(traceId, IsComplete, TimeSpan.FromSeconds(60));
        var report = string.Join("\n", spans.Select(s => $"{s.Service} {s.Kind} '{s.Name}' {s.TraceId}/{s.SpanId} parent {s.ParentSpanId}"));
        Assert.True(IsComplete(spans), "The exported trace is missing a step:\n" + report + "\n" + fixture.Traces.Summary());

        var request = Assert.Single(spans, s => s.Service == "api" && s.Kind == SpanKind.Server);
        Assert.Equal(callerSpanId, request.ParentSpanId);
        var send = Assert.Single(spans, s => s.Service == "api" && s.Name == "send events");
        Assert.Equal(SpanKind.Producer, send.Kind);
        var process = Assert.Single(spans, s => s.Service == "stream-processor" && s.Name == "process events");
        Assert.Equal((SpanKind.Consumer, send.SpanId), (process.Kind, process.ParentSpanId));
        var updates = spans.Where(s => s.Service == "stream-processor" && s.Name == "send aggregates").ToList();
        Assert.Equal(3, updates.Count); // the 1m window, the 1h window and all-time
        Assert.All(updates, update => Assert.Equal((SpanKind.Producer, process.SpanId), (update.Kind, update.ParentSpanId)));
        var stored = spans.Where(s => s.Service == "sink" && s.Name == "process aggregates").ToList();
        Assert.Equal(updates.Select(u => u.SpanId).Order(), stored.Select(s => s.ParentSpanId).Order());
        var upserts = spans.Where(s => s.Service == "sink" && s.Name == "upsert aggregates").ToList();
        Assert.All(stored, record => Assert.Contains(upserts, upsert => upsert.Links.Contains((traceId, record.SpanId))));

        Assert.All(spans.Where(s => s.Kind is SpanKind.Producer or SpanKind.Consumer), span =>
        {
            Assert.Equal("kafka", span.Attributes.GetValueOrDefault("messaging.system"));
            Assert.Contains(span.Attributes.GetValueOrDefault("messaging.destination.name"), new[] { "events", "aggregates" });
            Assert.Contains(span.Attributes.GetValueOrDefault("messaging.operation.type"), new[] { "send", "process" });
        });
        Assert.All(spans.Where(s => s.TraceId == traceId), span => Assert.DoesNotContain(key, string.Join(" ", span.Attributes.Values)));
    }

    private static bool IsComplete(IReadOnlyList<ExportedSpan> spans)
    {
        var stored = spans.Where(s => s.Service == "sink" && s.Name == "process aggregates").ToList();
        return spans.Any(s => s.Service == "api" && s.Kind == SpanKind.Server)
            && spans.Count(s => s.Service == "stream-processor" && s.Name == "send aggregates") == 3
            && stored.Count == 3
            && stored.All(record => spans.Any(s => s.Name == "upsert aggregates" && s.Links.Any(link => link.SpanId == record.SpanId)));
    }
}
