using Pipeline.StreamProcessor.Aggregation;

namespace Pipeline.Tests.StreamProcessor;

public sealed class StateCodecTests
{
    [Fact]
    public void AKeysStateReadsBackAsItWasWritten()
    {
        var state = new KeyState { LastAppliedOffset = 41 };
        state.ClosedThrough[60_000] = 1_700_000_040_000;
        var window = state.Window(new WindowSize(60_000, "1m"), 1_700_000_040_000, out _);
        window.Add(0.1, sourceOffset: 40, 1_700_000_000_123, default, 0);
        window.Add(0.2, sourceOffset: 41, 1_700_000_000_124, default, 0);
        window.EmittedVersion = 1;
        window.Close(1_700_000_000_200);
        state.AllTime().Add(-3.5, sourceOffset: 41, 1_700_000_000_300, default, 0);

        var read = StateCodec.ReadKeyState(StateCodec.Write(state));

        Assert.Equal(41, read.LastAppliedOffset);
        Assert.Equal(state.ClosedThrough, read.ClosedThrough);
        Assert.Equal(2, read.Aggregates.Count);
        for (var i = 0; i < 2; i++)
        {
            var (expected, actual) = (state.Aggregates[i], read.Aggregates[i]);
            Assert.Equal(
                (expected.SizeMs, expected.StartMs, expected.Count, expected.Sum, expected.Compensation, expected.Min, expected.Max, expected.Version, expected.EmittedVersion, expected.UpdatedAtMs, expected.Final),
                (actual.SizeMs, actual.StartMs, actual.Count, actual.Sum, actual.Compensation, actual.Min, actual.Max, actual.Version, actual.EmittedVersion, actual.UpdatedAtMs, actual.Final));
            Assert.Equal(actual.Version, actual.CapturedVersion);
        }
    }

    [Fact]
    public void CompensatedSummationKeepsWhatPlainAdditionLoses()
    {
        var aggregate = new AggregateState();
        aggregate.Add(1e16, sourceOffset: 0, 0, default, 0);
        for (var i = 0; i < 10; i++)
        {
            aggregate.Add(1, sourceOffset: i + 1, 0, default, 0);
        }

        aggregate.Add(-1e16, sourceOffset: 11, 0, default, 0);

        Assert.Equal(10, aggregate.Total);
    }

    [Fact]
    public void AnEventIdReadsBackAsItWasWritten()
    {
        Assert.Equal((1234567890123L, 1_700_000_000_000L), StateCodec.ReadEventId(StateCodec.WriteEventId(1234567890123, 1_700_000_000_000)));
        Assert.Equal((0L, 0L), StateCodec.ReadEventId(StateCodec.WriteEventId(0, 0)));
    }

    [Fact]
    public void TheEventIdsOfACommitReadBackAsTheyWereWrittenFromTheFirstNotForgotten()
    {
        RememberedId[] ids = [new("7:sensor-1id-ä", 0, 0), new("7:sensor-1id-2", 1234567890123, 1_700_000_000_000), new("3:k-9x", 5, 6)];

        Assert.Equal(ids, StateCodec.ReadEventIds(StateCodec.WriteEventIds(ids, 0)));
        Assert.Equal(ids[1..], StateCodec.ReadEventIds(StateCodec.WriteEventIds(ids, 1)));
        Assert.Empty(StateCodec.ReadEventIds(StateCodec.WriteEventIds(ids, 3)));
    }
}
