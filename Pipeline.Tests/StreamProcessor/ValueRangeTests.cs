namespace Pipeline.Tests.StreamProcessor;

/// <summary>The edges of the value range the API accepts, through the processor's topology: inside, counted exactly; outside, dead-lettered with the API's code.</summary>
public sealed class ValueRangeTests
{
    [Theory]
    [InlineData(1e300)]
    [InlineData(-1e300)]
    public void TheLargestMagnitudeTheApiAcceptsIsCountedAndSummedExactly(double value)
    {
        using var driver = new ProcessorDriver();
        var hour = driver.FutureHour;
        driver.Send("edge", value, hour.AddSeconds(1));
        driver.Send("edge", value, hour.AddSeconds(2));

        var updates = AggregationTests.Latest(driver.Settle());

        Assert.Empty(driver.ReadDeadLetters());
        Assert.Equal(3, updates.Count);
        Assert.All(updates.Values, update =>
            Assert.Equal((2, 2 * value, value, value, value), (update.Count, update.Sum, update.Min, update.Max, update.Mean)));
    }

    [Fact]
    public void TheSmallestPositiveValueIsCounted()
    {
        using var driver = new ProcessorDriver();
        driver.Send("tiny", 5e-324, driver.FutureHour);

        var allTime = AggregationTests.Latest(driver.Settle())[AggregationTests.AllTime("tiny")];

        Assert.Equal((1, double.Epsilon, double.Epsilon, double.Epsilon), (allTime.Count, allTime.Sum, allTime.Min, allTime.Max));
    }

    [Theory]
    [InlineData(1.7e308)]
    [InlineData(-1.7e308)]
    [InlineData(1.0000001e300)]
    [InlineData(-1.0000001e300)]
    public void AValueTheApiRefusesAsOutOfRangeIsDeadLetteredWithTheSameCodeAndNotCounted(double value)
    {
        using var driver = new ProcessorDriver();
        driver.Send("k", value, driver.FutureHour);
        driver.Send("k", 2, driver.FutureHour);

        var deadLetter = Assert.Single(driver.ReadDeadLetters());
        var allTime = AggregationTests.Latest(driver.Settle())[AggregationTests.AllTime("k")];

        Assert.Equal(EventRuleCodes.ValueOutOfRange, Encoding.UTF8.GetString(deadLetter.Message.Headers.GetLastBytes(DeadLetterHeaders.Reason)));
        Assert.Equal((1, 2.0), (allTime.Count, allTime.Sum));
    }
}
