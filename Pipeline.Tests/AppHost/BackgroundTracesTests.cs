using SpanKind = Pipeline.Tests.AppHost.Otlp.Span.Types.SpanKind;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// What the dashboard's trace list shows while nobody sends events: health checks, retention jobs,
/// keep-alive probes and the live page's own polling start no trace (ServiceDefaults'
/// BackgroundWorkSampler), so the traces a user came to see are not buried.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class BackgroundTracesTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task BackgroundWorkExportsNoTraceOfItsOwn()
    {
        // Longer than the slowest background job's period (the API's listener probe, every 30 s),
        // while the AppHost's health checks call every service's /health and the page polls the API.
        await Task.Delay(TimeSpan.FromSeconds(35));

        var spans = fixture.Traces.Spans;
        var rootClients = spans.Where(s => s.ParentSpanId.Length == 0 || s.ParentSpanId.All(c => c == '0'))
            .Where(s => s.Kind == SpanKind.Client).ToList();
        Assert.True(rootClients.Count == 0,
            "Background client spans were exported:\n" + string.Join("\n", rootClients.Take(20).Select(s => $"{s.Service} '{s.Name}'")));
        var polled = spans.Where(s => s.Service == "api" && s.Kind == SpanKind.Server && s.Name.Contains("/api/status", StringComparison.Ordinal)).ToList();
        Assert.True(polled.Count == 0, $"The live page's status polling was traced {polled.Count} times.");
    }
}
