using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;

namespace Pipeline.Tests.AppHost.Otlp;

/// <summary>One span as a service exported it over OTLP.</summary>
internal sealed record ExportedSpan(
    string Service, string TraceId, string SpanId, string ParentSpanId, string Name, Span.Types.SpanKind Kind,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<(string TraceId, string SpanId)> Links);

/// <summary>
/// An OTLP/HTTP endpoint on loopback standing in for the Aspire dashboard: the services the
/// AppHost runs export their traces here (<c>http/protobuf</c>), and tests read them.
/// Metrics and logs are accepted and dropped.
/// </summary>
internal sealed class OtlpTraceReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();

    private OtlpTraceReceiver(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    public static async Task<OtlpTraceReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var receiver = new OtlpTraceReceiver(builder.Build());
        receiver._app.MapPost("/v1/traces", receiver.ReceiveTracesAsync);
        receiver._app.MapPost("/v1/metrics", () => Results.Bytes([], "application/x-protobuf"));
        receiver._app.MapPost("/v1/logs", () => Results.Bytes([], "application/x-protobuf"));
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Endpoint = new Uri(address);
        return receiver;
    }

    /// <summary>The spans of one trace, or linked to it, once <paramref name="done"/> says they are all there.</summary>
    public async Task<IReadOnlyList<ExportedSpan>> WaitForTraceAsync(string traceId, Func<IReadOnlyList<ExportedSpan>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var trace = Spans.Where(span => span.TraceId == traceId || span.Links.Any(link => link.TraceId == traceId)).ToList();
            if (done(trace) || DateTime.UtcNow > deadline)
            {
                return trace;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>How many spans each service exported, for a failure message.</summary>
    public string Summary() =>
        "Spans received, by service: " + string.Join(", ", Spans.GroupBy(span => span.Service).Select(g => $"{g.Key} {g.Count()}"));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task<IResult> ReceiveTracesAsync(HttpRequest request)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var export = ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray());
        foreach (var resourceSpans in export.ResourceSpans)
        {
            var service = resourceSpans.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
            foreach (var span in resourceSpans.ScopeSpans.SelectMany(scope => scope.Spans))
            {
                _spans.Enqueue(new ExportedSpan(
                    service,
                    Convert.ToHexStringLower(span.TraceId.Span),
                    Convert.ToHexStringLower(span.SpanId.Span),
                    Convert.ToHexStringLower(span.ParentSpanId.Span),
                    span.Name,
                    span.Kind,
                    span.Attributes.GroupBy(a => a.Key).ToDictionary(g => g.Key, g => Text(g.Last().Value)),
                    [.. span.Links.Select(link => (Convert.ToHexStringLower(link.TraceId.Span), Convert.ToHexStringLower(link.SpanId.Span)))]));
            }
        }

        return Results.Bytes([], "application/x-protobuf");
    }

    private static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "",
    };
}
