using System.Text;
using System.Text.Json;
using Pipeline.Contracts;

namespace Pipeline.Tests.Contracts;

public sealed class AggregateChangeNotificationsTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 5, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AChangeReadsBackAsTheRecordTheSinkStoredToTheMicrosecond()
    {
        // PostgreSQL keeps microseconds; the 100 ns tick below it is not announced either.
        var updated = Start.AddTicks(1_234_567_891);
        var window = new AggregateRecord("k \"quoted\" é \u0001", "1m", Start, Start.AddMinutes(1), 3, 0.1 + 0.2, -1e-300, double.MaxValue, 1.0 / 3, true, 42, updated);
        var totals = new AggregateRecord("k", WindowNames.AllTime, WindowNames.AllTimeStart, null, long.MaxValue, -0.0, 5e-324, 7, 2.5, false, 1, Start);

        var read = AggregateChangeNotifications.Payloads([window, totals]).SelectMany(AggregateChangeNotifications.Read).ToList();

        Assert.Equal([window with { UpdatedAt = Start.AddTicks(1_234_567_890) }, totals], read);
    }

    [Fact]
    public void APayloadCarriesEachChangeInAboutHalfTheBytesOfItsNamedJson()
    {
        var changes = Enumerable.Range(0, 100)
            .Select(i => new AggregateRecord($"sensor-{i}", "1m", Start, Start.AddMinutes(1), i, i * 1.5, 0.5, i, 0.75, false, i, Start.AddSeconds(i)))
            .ToList();

        var announced = AggregateChangeNotifications.Payloads(changes).Sum(payload => Encoding.UTF8.GetByteCount(payload));
        var named = changes.Sum(change => PipelineJson.Serialize(change).Length);

        Assert.InRange(announced, 1, named * 0.6);
    }

    [Fact]
    public void AChangeAnnouncedAsNamedJsonByAnOlderSinkIsReadToo()
    {
        var change = new AggregateRecord("k", "1h", Start, Start.AddHours(1), 2, 3, 1, 2, 1.5, false, 7, Start.AddSeconds(1));
        var named = $"[{Encoding.UTF8.GetString(PipelineJson.Serialize(change))}]";

        Assert.Equal([change], AggregateChangeNotifications.Read(named));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[{\"key\":\"k\"}]")]
    [InlineData("[null]")]
    [InlineData("[[\"k\",\"1m\",0,null,1,1,1,1,1,false,1]]")]
    [InlineData("[[null,\"1m\",0,null,1,1,1,1,1,false,1,0]]")]
    [InlineData("[[\"k\",\"1m\",\"soon\",null,1,1,1,1,1,false,1,0]]")]
    [InlineData("[[\"k\",\"1m\",0,null,1.5,1,1,1,1,false,1,0]]")]
    [InlineData("[[\"k\",\"1m\",9223372036854775807,null,1,1,1,1,1,false,1,0]]")]
    [InlineData("[[\"k\",\"1m\",0,null,1,1,1,1,1,false,1,0]")]
    public void APayloadThatIsNotAnArrayOfChangesIsRefusedAsJson(string payload)
    {
        Assert.ThrowsAny<JsonException>(() => AggregateChangeNotifications.Read(payload));
    }
}
