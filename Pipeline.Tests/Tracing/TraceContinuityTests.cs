using Pipeline.Api.Http;
using Pipeline.Sink;
using Pipeline.StreamProcessor.Telemetry;
using Pipeline.Tests.Sink;

namespace Pipeline.Tests.Tracing;

/// <summary>
/// One event, one trace: the real API, stream processor and sink hosts run in this process against
/// a local broker and a real PostgreSQL (<see cref="InProcessPipeline"/>), each exporting its spans
/// through its own OpenTelemetry tracer to an in-memory exporter. The test reads what the exporters
/// received, not headers alone.
/// </summary>
[Collection(InProcessPipeline.Collection)]
public sealed class TraceContinuityTests(InProcessPipeline pipeline)
{
    [Fact]
    public async Task AnEventPostedWithATraceparentIsTracedUnderThatTraceThroughTheApiTheProcessorAndTheSink()
    {
        var (api, apiSpans, processorSpans, sinkSpans) = (pipeline.Api, pipeline.ApiSpans, pipeline.ProcessorSpans, pipeline.SinkSpans);

        var traceId = ActivityTraceId.CreateRandom();
        var callerSpanId = ActivitySpanId.CreateRandom();
        var key = "traced-" + Guid.NewGuid().ToString("N")[..12];
        using var client = api.CreateApiClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiRequests.Events)
        {
            Content = ApiRequests.Content(Encoding.UTF8.GetBytes(ApiRequests.NewEvent(out var eventId, key, value: 4.25)), "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpanId}-01");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();

        // The record on `events` carries the caller's trace.
        var record = ReadEvent(pipeline.BootstrapServers, accepted.GetProperty("partition").GetInt32(), accepted.GetProperty("offset").GetInt64());
        Assert.True(record.Message.Headers.TryGetLastBytes("traceparent", out var traceparent), "The events record has no traceparent header.");
        Assert.True(ActivityContext.TryParse(Encoding.UTF8.GetString(traceparent), null, out var recordContext));
        Assert.Equal(traceId, recordContext.TraceId);

        // All three aggregates of the event (all-time, 1m, 1h) reach PostgreSQL.
        var stored = await Eventually.HoldsAsync(() => SinkDatabase.ReadAllAsync(pipeline.Database, key), found => found.Count == 3, TimeSpan.FromSeconds(60));
        Assert.True(stored.Count == 3, $"{stored.Count} of 3 rows stored. Logged:\n{pipeline.Problems()}");
        Assert.All(stored, row => Assert.Equal(4.25, row.Sum));

        // The API: its request span continues the caller's span, and the record's context is its produce span.
        var apiTrace = await ExportedAsync(apiSpans, traceId, spans => spans.Any(IsFrom(ApiTelemetry.Name)));
        var requestSpan = Assert.Single(apiTrace, span => span.Kind == ActivityKind.Server);
        Assert.Equal(callerSpanId, requestSpan.ParentSpanId);
        var produce = Assert.Single(apiTrace, span => span.Source.Name == ApiTelemetry.Name);
        Assert.Equal(($"send {Topics.Events}", ActivityKind.Producer), (produce.DisplayName, produce.Kind));
        AssertMessaging(produce, Topics.Events, "send");
        Assert.Equal(produce.SpanId, recordContext.SpanId);

        // The processor: the event's process span is the produce span's child; each aggregate's send span is its child.
        var processorTrace = await ExportedAsync(processorSpans, traceId,
            spans => spans.Count(span => IsFrom(StreamProcessorTelemetry.Name)(span) && span.Kind == ActivityKind.Producer) >= 3);
        var process = Assert.Single(processorTrace, span => IsFrom(StreamProcessorTelemetry.Name)(span) && span.Kind == ActivityKind.Consumer);
        Assert.Equal($"process {Topics.Events}", process.DisplayName);
        Assert.Equal(produce.SpanId, process.ParentSpanId);
        AssertMessaging(process, Topics.Events, "process");
        Assert.Equal(pipeline.ApplicationId, process.GetTagItem("messaging.consumer.group.name"));
        Assert.Equal("counted", process.GetTagItem("pipeline.outcome"));
        var sends = processorTrace.Where(span => IsFrom(StreamProcessorTelemetry.Name)(span) && span.Kind == ActivityKind.Producer).ToList();
        Assert.All(sends, send =>
        {
            Assert.Equal($"send {Topics.Aggregates}", send.DisplayName);
            Assert.Equal(process.SpanId, send.ParentSpanId);
            AssertMessaging(send, Topics.Aggregates, "send");
        });

        // The sink: one process span per aggregate record, each the child of that record's send span,
        // and the batch's upsert span links to them.
        var sinkTrace = await ExportedAsync(sinkSpans, traceId, spans => spans.Count(IsFrom(KafkaTelemetry.Name)) >= 3);
        var consumed = sinkTrace.Where(IsFrom(KafkaTelemetry.Name)).ToList();
        Assert.All(consumed, span =>
        {
            Assert.Equal(($"process {Topics.Aggregates}", ActivityKind.Consumer), (span.DisplayName, span.Kind));
            Assert.Contains(span.ParentSpanId, sends.Select(send => send.SpanId));
            AssertMessaging(span, Topics.Aggregates, "process");
            Assert.Equal(new SinkOptions().ConsumerGroup, span.GetTagItem("messaging.consumer.group.name"));
        });
        var upserts = await Eventually.HoldsAsync(() => Task.FromResult(sinkSpans.LinkingTo(traceId)), found => found.Count > 0);
        var linked = upserts.Where(IsFrom(SinkTelemetry.Name)).SelectMany(upsert => upsert.Links).Select(link => link.Context.SpanId).ToHashSet();
        Assert.All(consumed, span => Assert.Contains(span.SpanId, linked));
        Assert.All(upserts.Where(IsFrom(SinkTelemetry.Name)), upsert => Assert.Equal("postgresql", upsert.GetTagItem("db.system.name")));

        // Logs at Information and above name neither the event's key nor its id.
        var logs = pipeline.Logs
.Where(entry => entry.Level >= LogLevel.Information).ToList();
        Assert.DoesNotContain(logs, entry => entry.AllText.Contains(key, StringComparison.Ordinal) || entry.AllText.Contains(eventId, StringComparison.Ordinal));
    }

    private static Func<Activity, bool> IsFrom(string source) => span => span.Source.Name == source;

    private static void AssertMessaging(Activity span, string destination, string operation)
    {
        Assert.Equal("kafka", span.GetTagItem("messaging.system"));
        Assert.Equal(destination, span.GetTagItem("messaging.destination.name"));
        Assert.Equal(operation, span.GetTagItem("messaging.operation.type"));
        Assert.Equal(operation, span.GetTagItem("messaging.operation.name"));
    }

    /// <summary>The spans of the trace a host exported, once <paramref name="complete"/> holds (spans are exported when they end).</summary>
    private static async Task<IReadOnlyList<Activity>> ExportedAsync(ExportedSpans spans, ActivityTraceId traceId, Func<IReadOnlyList<Activity>, bool> complete)
    {
        var found = await Eventually.HoldsAsync(() => Task.FromResult(spans.InTrace(traceId)), complete);
        Assert.True(complete(found), $"The exported spans of trace {traceId} are incomplete: {string.Join(", ", found.Select(span => $"{span.Source.Name} '{span.DisplayName}'"))}");
        return found;
    }

    private static ConsumeResult<string, byte[]> ReadEvent(string bootstrapServers, int partition, long offset)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "trace-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(Topics.Events, partition, offset));
        return consumer.Consume(TimeSpan.FromSeconds(20)) ?? throw new TimeoutException($"No record at {Topics.Events}[{partition}]@{offset}.");
    }
}
