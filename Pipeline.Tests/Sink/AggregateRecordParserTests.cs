using Pipeline.Sink;
using static Pipeline.Tests.Sink.Aggregates;

namespace Pipeline.Tests.Sink;

public sealed class AggregateRecordParserTests
{
    [Fact]
    public void AStateWrittenWithPipelineJsonReadsBackEqual()
    {
        var state = Window("parse-a", 2, 3);

        var parsed = AggregateRecordParser.Parse(PipelineJson.Serialize(state));

        Assert.Equal(state, parsed.Record);
        Assert.Null(parsed.Reason);
    }

    [Theory]
    [InlineData(null, DeadLetterReasons.NullValue)]
    [InlineData("not json", DeadLetterReasons.InvalidJson)]
    [InlineData("null", DeadLetterReasons.InvalidJson)]
    [InlineData("""{"key":"k","window":"1m"}""", DeadLetterReasons.InvalidJson)]
    [InlineData("""{"key":"k","window":"all","windowStart":"1970-01-01T00:00:00Z","windowEnd":null,"count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z","extra":1}""", DeadLetterReasons.InvalidJson)]
    [InlineData("""{"key":"k","window":"all","windowStart":"1970-01-01T00:00:00Z","windowEnd":null,"count":"1","sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidJson)]
    [InlineData("""{"key":null,"window":"all","windowStart":"1970-01-01T00:00:00Z","windowEnd":null,"count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidJson)]
    [InlineData("""{"key":"","window":"all","windowStart":"1970-01-01T00:00:00Z","windowEnd":null,"count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidAggregate)]
    [InlineData("""{"key":"a\u0000b","window":"all","windowStart":"1970-01-01T00:00:00Z","windowEnd":null,"count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidAggregate)]
    [InlineData("""{"key":"k","window":"week","windowStart":"2030-01-01T00:00:00Z","windowEnd":"2030-01-08T00:00:00Z","count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidAggregate)]
    [InlineData("""{"key":"k","window":"1m","windowStart":"2030-01-01T00:00:00Z","windowEnd":null,"count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidAggregate)]
    [InlineData("""{"key":"k","window":"1m","windowStart":"2030-01-01T00:01:00Z","windowEnd":"2030-01-01T00:01:00Z","count":1,"sum":1,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", DeadLetterReasons.InvalidAggregate)]
    [InlineData("""{"key":"k","window":"all","windowStart":"1970-01-01T00:00:00Z","windowEnd":null,"count":1,"sum":1e400,"min":1,"max":1,"mean":1,"final":false,"version":1,"updatedAt":"2030-01-01T00:00:00Z"}""", null)]
    public void ARecordTheTablesCannotHoldIsRejectedWithItsReason(string? json, string? reason)
    {
        var parsed = AggregateRecordParser.Parse(json is null ? null : Encoding.UTF8.GetBytes(json));

        Assert.Null(parsed.Record);
        Assert.False(string.IsNullOrWhiteSpace(parsed.Detail));
        if (reason is not null)
        {
            Assert.Equal(reason, parsed.Reason);
        }
        else
        {
            Assert.Contains(parsed.Reason, new[] { DeadLetterReasons.InvalidJson, DeadLetterReasons.InvalidAggregate });
        }
    }

    [Fact]
    public void AKeyLongerThanTheLimitIsRejectedAndOneAtTheLimitIsNot()
    {
        var atLimit = Totals(new string('é', AggregateRecordParser.MaxKeyBytes / 2), 1);
        var overLimit = Totals(new string('é', AggregateRecordParser.MaxKeyBytes / 2) + "x", 1);

        Assert.NotNull(AggregateRecordParser.Parse(PipelineJson.Serialize(atLimit)).Record);
        Assert.Equal(DeadLetterReasons.InvalidAggregate, AggregateRecordParser.Parse(PipelineJson.Serialize(overLimit)).Reason);
    }

    [Fact]
    public void InstantsAreCutToTheMicrosecondsPostgresKeeps()
    {
        var start = Minute0.AddTicks(7);
        var state = Window("micro-a", 0, 1) with { WindowStart = start, WindowEnd = start.AddMinutes(1), UpdatedAt = start.AddTicks(15) };

        var parsed = AggregateRecordParser.Parse(PipelineJson.Serialize(state)).Record!;

        Assert.Equal(Minute0, parsed.WindowStart);
        Assert.Equal(Minute0.AddMinutes(1), parsed.WindowEnd);
        Assert.Equal(Minute0.AddTicks(20), parsed.UpdatedAt);
    }
}
