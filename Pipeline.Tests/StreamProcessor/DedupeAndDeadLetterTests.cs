using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;

namespace Pipeline.Tests.StreamProcessor;

public sealed class DedupeAndDeadLetterTests
{
    [Fact]
    public void AnEventSentTwiceWithTheSameIdIsCountedOnce()
    {
        using var driver = new ProcessorDriver();
        var at = driver.FutureHour.AddSeconds(5);
        driver.Send(new PipelineEvent("id-1", "k", 4, at));
        driver.Send(new PipelineEvent("id-2", "k", 1, at));
        driver.Send(new PipelineEvent("id-1", "k", 4, at));            // a client's retry
        driver.Send(new PipelineEvent("id-1", "k", 4, at.AddSeconds(9))); // a retry stamped later is the same event too

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.All(updates.Values, update => Assert.Equal((2, 5.0), (update.Count, update.Sum)));
        Assert.Equal(2, driver.Measured("pipeline.stream_processor.events.duplicate"));
    }

    [Fact]
    public void TheSameIdUnderAnotherKeyIsAnotherEvent()
    {
        using var driver = new ProcessorDriver();
        var at = driver.FutureHour;
        driver.Send(new PipelineEvent("shared-id", "a", 1, at));
        driver.Send(new PipelineEvent("shared-id", "b", 1, at));

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Equal(1, updates[AggregationTests.AllTime("a")].Count);
        Assert.Equal(1, updates[AggregationTests.AllTime("b")].Count);
        Assert.Equal(0, driver.Measured("pipeline.stream_processor.events.duplicate"));
    }

    [Fact]
    public void AnIdIsForgottenOnceStreamTimeIsADedupeWindowPastItsFirstSighting()
    {
        using var driver = new ProcessorDriver(new AggregationOptions { DedupeWindow = "10m" });
        var at = driver.FutureHour;
        driver.Send(new PipelineEvent("id-1", "k", 1, at));
        driver.Send(new PipelineEvent("tick", "other", 1, at.AddMinutes(10)));                 // exactly at the horizon: still remembered
        driver.Send(new PipelineEvent("id-1", "k", 1, at.AddMinutes(10)));
        driver.Send(new PipelineEvent("tock", "other", 1, at.AddMinutes(10).AddSeconds(1))); // now past it
        driver.Settle();
        driver.Send(new PipelineEvent("id-1", "k", 1, at.AddMinutes(10).AddSeconds(1)));

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Equal(2, updates[AggregationTests.AllTime("k")].Count);
        Assert.Equal(1, driver.Measured("pipeline.stream_processor.events.duplicate"));
    }

    [Fact]
    public void ALateEventRetriedByItsClientIsCountedOnceThoughItIsOlderThanTheDedupeWindow()
    {
        using var driver = new ProcessorDriver(new AggregationOptions { DedupeWindow = "10m" });
        var now = driver.FutureHour.AddHours(3);
        driver.Send(new PipelineEvent("current", "k", 1, now));
        var threeHoursLate = new PipelineEvent("late-1", "k", 2, now.AddHours(-3));
        driver.Send(threeHoursLate);
        driver.Send(threeHoursLate); // the client's retry, a moment later

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Equal((2, 3.0), (updates[AggregationTests.AllTime("k")].Count, updates[AggregationTests.AllTime("k")].Sum));
        Assert.Equal(1, driver.Measured("pipeline.stream_processor.events.duplicate"));
    }

    public static TheoryData<string, byte[]?, byte[]?> PoisonRecords() => new()
    {
        { "missing-key", null, Json("""{"id":"1","key":"k","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "invalid-key", [0xC3, 0x28], Json("""{"id":"1","key":"k","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "missing-value", Json("k"), null },
        { "invalid-json", Json("k"), Json("not json at all") },
        { "invalid-json", Json("k"), Json("""{"id":"1","key":"k","value":"1","timestamp":"2030-01-01T00:00:00Z"}""") },
        { "invalid-json", Json("k"), Json("""{"id":"1","key":"k","timestamp":"2030-01-01T00:00:00Z"}""") },
        { "invalid-json", Json("k"), Json("""{"id":"1","key":"k","value":1,"timestamp":"2030-01-01T00:00:00Z","extra":true}""") },
        { "invalid-unicode", Json("k"), Json("""{"id":"1","key":"\ud800","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "value.not-finite", Json("k"), Json("""{"id":"1","key":"k","value":1e999,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "missing-id", Json("k"), Json("""{"id":null,"key":"k","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "id.whitespace-only", Json("k"), Json("""{"id":" ","key":"k","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "missing-event-key", Json("k"), Json("""{"id":"1","key":null,"value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "key.empty", Json("k"), Json("""{"id":"1","key":"","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "key-mismatch", Json("k"), Json("""{"id":"1","key":"other","value":1,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "value-out-of-range", Json("k"), Json("""{"id":"1","key":"k","value":1e301,"timestamp":"2030-01-01T00:00:00Z"}""") },
        { "invalid-timestamp", Json("k"), Json("""{"id":"1","key":"k","value":1,"timestamp":"1969-12-31T23:59:59Z"}""") },
    };

    [Theory]
    [MemberData(nameof(PoisonRecords))]
    public void APoisonRecordIsDeadLetteredWithItsReasonAndSourceAndTheStreamCarriesOn(string reason, byte[]? key, byte[]? value)
    {
        using var driver = new ProcessorDriver();
        var traceParent = Encoding.UTF8.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        driver.SendRaw(key, value, new Headers { { "traceparent", traceParent } });
        driver.Send("k", 2, driver.FutureHour);

        var deadLetter = Assert.Single(driver.ReadDeadLetters());
        var updates = AggregationTests.Latest(driver.Settle());

        var headers = deadLetter.Message.Headers;
        Assert.Equal(reason, Text(headers, DeadLetterHeaders.Reason));
        Assert.False(string.IsNullOrWhiteSpace(Text(headers, DeadLetterHeaders.Detail)));
        Assert.Equal("pipeline-stream-processor", Text(headers, DeadLetterHeaders.Service));
        Assert.Equal(Topics.Events, Text(headers, DeadLetterHeaders.SourceTopic));
        Assert.Equal("0", Text(headers, DeadLetterHeaders.SourcePartition));
        Assert.Equal("0", Text(headers, DeadLetterHeaders.SourceOffset));
        Assert.Equal(traceParent, headers.GetLastBytes("traceparent"));
        Assert.Equal(key, deadLetter.Message.Key);
        Assert.Equal(value, deadLetter.Message.Value);
        Assert.Equal(2, updates[AggregationTests.AllTime("k")].Sum);
        Assert.Equal(1, driver.Measured("pipeline.stream_processor.records.dead_lettered", $"dead_letter.reason={reason}"));
        Assert.Equal(2, driver.Measured("pipeline.stream_processor.records.processed"));
    }

    [Fact]
    public void AnAggregateCarriesTheTraceOfTheLastEventThatChangedIt()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StreamProcessorTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var driver = new ProcessorDriver();
        var first = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        var last = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        driver.Send("k", 1, driver.FutureHour, headers: Carrying(first));
        driver.Send("k", 1, driver.FutureHour, headers: Carrying(last));

        driver.Commit();
        driver.AdvanceWallClock(driver.Settings.PunctuationInterval);
        var records = driver.ReadAggregateRecords();

        Assert.Equal(3, records.Count);
        Assert.All(records, record =>
            Assert.Equal(last.TraceId, KafkaTelemetry.ExtractTraceContext(record.Message.Headers).TraceId));
    }

    private static Headers Carrying(ActivityContext context)
    {
        var headers = new Headers();
        KafkaTelemetry.InjectTraceContext(context, headers);
        return headers;
    }

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(Headers headers, string key) => Encoding.UTF8.GetString(headers.GetLastBytes(key));
}
