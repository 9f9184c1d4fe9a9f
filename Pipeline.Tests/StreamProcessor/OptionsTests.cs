using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Hosting;
using Streamiz.Kafka.Net;

namespace Pipeline.Tests.StreamProcessor;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("200ms", 200)]
    [InlineData("30s", 30_000)]
    [InlineData("1m", 60_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("00:00:30", 30_000)]
    public void DurationsAreReadInShortOrTimeSpanForm(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var duration));
        Assert.Equal(milliseconds, (long)duration.TotalMilliseconds);
    }

    [Theory]
    [InlineData(60_000, "1m")]
    [InlineData(90_000, "90s")]
    [InlineData(3_600_000, "1h")]
    [InlineData(1_500, "1500ms")]
    public void WindowNamesAreTheShortestExactForm(long milliseconds, string name) =>
        Assert.Equal(name, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void DefaultsAreOneMinuteAndOneHourWindowsThirtySecondsGraceOneHourDedupeAnd200MsEmit()
    {
        var settings = AggregationSettings.From(new AggregationOptions());

        Assert.Equal(["1m", "1h"], settings.Windows.Select(window => window.Name));
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Grace);
        Assert.Equal(TimeSpan.FromHours(1), settings.DedupeWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(200), settings.EmitInterval);
    }

    [Fact]
    public void InvalidAggregationSettingsAreRefusedWithMessagesNamingTheKey()
    {
        var result = new AggregationOptionsValidator().Validate(null, new AggregationOptions
        {
            Windows = ["1m", "60s", "soon"],
            Grace = "-1s",
            DedupeWindow = "forever",
            EmitInterval = "5ms",
        });

        Assert.True(result.Failed);
        Assert.Contains("Aggregation:Windows lists the size 1m twice", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Aggregation:Windows entry 'soon' is not a window size", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Aggregation:Grace '-1s' is not a duration", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Aggregation:DedupeWindow 'forever' is not a duration", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Aggregation:EmitInterval is 5ms; it must be at least 50ms", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void StreamProcessorSettingsAreCheckedAgainstEachOtherAndTheConnectionString()
    {
        var noBroker = new ConfigurationBuilder().Build();
        var options = new StreamProcessorOptions { ApplicationId = "has spaces", Threads = 0, CommitInterval = "190ms", PollInterval = "soon", StallLimit = "500ms" };

        var fields = new StreamProcessorOptionsValidator().Validate(null, options);
        var fit = new StreamProcessorFitValidator(Options.Create(new AggregationOptions { EmitInterval = "200ms" }), noBroker).Validate(null, options);

        Assert.Contains(fit.Failures!, failure => failure.Contains("ConnectionStrings:kafka", StringComparison.Ordinal));
        Assert.Contains("StreamProcessor:ApplicationId must be 1-200 characters", fields.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("StreamProcessor:Threads must be between 1 and 64", fields.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("StreamProcessor:PollInterval 'soon' is not a duration", fields.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("StreamProcessor:StallLimit", fields.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void TheGuaranteeAndIntervalsReachStreamizAsConfigured()
    {
        var exactlyOnce = StreamConfiguration.Create(
            new StreamProcessorOptions { Guarantee = ProcessingGuaranteeSetting.ExactlyOnce, CommitInterval = "150ms", PollInterval = "15ms", SessionTimeout = "9s", Threads = 3 },
            "127.0.0.1:9092",
            loggerFactory: null);
        var atLeastOnce = StreamConfiguration.Create(new StreamProcessorOptions(), "127.0.0.1:9092", loggerFactory: null);

        Assert.Equal(ProcessingGuarantee.EXACTLY_ONCE, exactlyOnce.Guarantee);
        Assert.Equal((150L, 15L, 9000, 3), (exactlyOnce.CommitIntervalMs, exactlyOnce.PollMs, exactlyOnce.SessionTimeoutMs!.Value, exactlyOnce.NumStreamThreads));
        Assert.Equal(ProcessingGuarantee.AT_LEAST_ONCE, atLeastOnce.Guarantee);
        Assert.Equal(100L, atLeastOnce.CommitIntervalMs);
        Assert.True(atLeastOnce.EnableIdempotence);
        Assert.Equal(120_000, atLeastOnce.MessageTimeoutMs); // a commit waits at most this long for the broker
        Assert.Equal(StreamProcessorTopology.DefaultApplicationId, atLeastOnce.ApplicationId);
    }

    [Fact]
    public void ACommitIntervalThatCannotMeetTheEmitIntervalIsRefused()
    {
        var broker = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:kafka"] = "127.0.0.1:9092" }).Build();
        var validator = new StreamProcessorFitValidator(Options.Create(new AggregationOptions { EmitInterval = "200ms" }), broker);

        var fits = validator.Validate(null, new StreamProcessorOptions());
        var tooSlow = validator.Validate(null, new StreamProcessorOptions { CommitInterval = "190ms" });

        Assert.True(fits.Succeeded);
        Assert.Contains(tooSlow.Failures!, failure => failure.Contains("exceed Aggregation:EmitInterval", StringComparison.Ordinal));
    }
}
