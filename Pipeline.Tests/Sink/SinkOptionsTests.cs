using Pipeline.Sink;

namespace Pipeline.Tests.Sink;

public sealed class SinkOptionsTests
{
    [Fact]
    public void TheDefaultsAreValid()
    {
        Assert.True(new SinkOptionsValidator().Validate(null, new SinkOptions()).Succeeded);
        Assert.True(new SinkRetryDelaysValidator().Validate(null, new SinkOptions()).Succeeded);
        Assert.True(new RetentionOptionsValidator().Validate(null, new RetentionOptions()).Succeeded);
    }

    [Fact]
    public void InvalidSinkSettingsAreRefusedWithMessagesNamingTheKey()
    {
        var options = new SinkOptions { Topic = " ", BatchSize = 0, Linger = TimeSpan.FromMinutes(1), RetryInitialDelay = TimeSpan.FromSeconds(30) };

        var fields = new SinkOptionsValidator().Validate(null, options);
        var delays = new SinkRetryDelaysValidator().Validate(null, options);

        Assert.Contains("Sink:Topic must name the aggregates topic.", fields.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Sink:BatchSize must be between 1 and 50000.", fields.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Sink:Linger must be between 0 and 10 seconds.", fields.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Sink:RetryInitialDelay must be no longer than Sink:RetryMaxDelay.", delays.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ARetentionAgeThatIsNotPositiveIsNamedByItsWindowSize()
    {
        var options = new RetentionOptions { MaxAge = new(StringComparer.Ordinal) { ["1m"] = TimeSpan.Zero, ["1h"] = TimeSpan.FromDays(1) }, BatchSize = 0 };

        var result = new RetentionOptionsValidator().Validate(null, options);

        Assert.Contains("Sink:Retention:MaxAge:1m must be positive.", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxAge:1h", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Sink:Retention:BatchSize must be between 1 and 100000.", result.FailureMessage, StringComparison.Ordinal);
    }
}
