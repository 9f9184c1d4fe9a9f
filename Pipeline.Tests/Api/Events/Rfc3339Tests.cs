using Pipeline.Api.Events;

namespace Pipeline.Tests.Api.Events;

public sealed class Rfc3339Tests
{
    [Theory]
    [InlineData("2025-01-31T12:00:00Z", "2025-01-31T12:00:00.0000000+00:00")]
    [InlineData("2025-01-31t12:00:00z", "2025-01-31T12:00:00.0000000+00:00")]
    [InlineData("2025-01-31T13:30:00+01:30", "2025-01-31T13:30:00.0000000+01:30")]
    [InlineData("2025-01-31T12:00:00-00:00", "2025-01-31T12:00:00.0000000+00:00")]
    [InlineData("2025-01-31T12:00:00.5Z", "2025-01-31T12:00:00.5000000+00:00")]
    [InlineData("2025-01-31T12:00:00.123456789Z", "2025-01-31T12:00:00.1234567+00:00")]
    [InlineData("2024-02-29T23:59:59+14:00", "2024-02-29T23:59:59.0000000+14:00")]
    public void ValidDateTimeIsReadWithItsOffset(string text, string expected)
    {
        Assert.True(Rfc3339.TryParse(text, out var value));
        Assert.Equal(DateTimeOffset.Parse(expected), value);
        Assert.Equal(DateTimeOffset.Parse(expected).Offset, value.Offset);
    }

    [Theory]
    [InlineData("2025-01-31T12:00:00")]
    [InlineData("2025-01-31 12:00:00Z")]
    [InlineData("2025-01-31")]
    [InlineData("2025-1-31T12:00:00Z")]
    [InlineData("2025-01-31T12:00Z")]
    [InlineData("2025-01-31T12:00:00.Z")]
    [InlineData("2025-01-31T12:00:60Z")]
    [InlineData("2025-01-31T24:00:00Z")]
    [InlineData("2025-02-29T00:00:00Z")]
    [InlineData("2025-00-10T00:00:00Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("2025-01-31T12:00:00+1:00")]
    [InlineData("2025-01-31T12:00:00+0100")]
    [InlineData("2025-01-31T12:00:00+14:01")]
    [InlineData("2025-01-31T12:00:00+01:60")]
    [InlineData("0001-01-01T00:00:00+01:00")]
    [InlineData("２０２５-01-31T12:00:00Z")]
    [InlineData("2025-01-31T12:00:00ZZ")]
    [InlineData("")]
    public void AnythingElseIsRefused(string text)
    {
        Assert.False(Rfc3339.TryParse(text, out _));
    }
}
