using Pipeline.ServiceDefaults.Contracts;

namespace Pipeline.Tests.Contracts;

/// <summary>What a refusal tells the sender: which character, where (counted in code points, as lengths are).</summary>
public sealed class PipelineEventRulesTests
{
    [Theory]
    [InlineData("a\u200Bb", "U+200B at character 2")]
    [InlineData("\U0001F600\U0001F600\u202Ex", "U+202E at character 3")]
    [InlineData("\uFEFF", "U+FEFF at character 1")]
    public void AnInvisibleCharacterIsNamedWithItsPosition(string key, string expected)
    {
        var breach = PipelineEventRules.CheckKey(key);

        Assert.Equal(EventRuleCodes.KeyInvisibleCharacter, breach?.Code);
        Assert.Contains(expected, breach!.Message);
    }

    [Theory]
    [InlineData("cafe\u0301", "at character 4 (U+0065 U+0301)")]
    [InlineData("\U0001F600e\u0301", "at character 2 (U+0065 U+0301)")]
    [InlineData("\u212B", "at character 1 (U+212B)")]
    public void ANonNfcKeyIsRefusedWithWhereItFirstDiffersFromItsNfcForm(string key, string expected)
    {
        var breach = PipelineEventRules.CheckKey(key);

        Assert.Equal(EventRuleCodes.KeyNotNfc, breach?.Code);
        Assert.Contains(expected, breach!.Message);
    }

    [Fact]
    public void TheFirstRuleBrokenIsTheOneReported()
    {
        Assert.Equal(EventRuleCodes.KeyTooLong, PipelineEventRules.CheckKey(new string('\u200B', PipelineEventRules.MaxKeyLength + 1))?.Code);
        Assert.Equal(EventRuleCodes.KeyControlCharacter, PipelineEventRules.CheckKey("\u0000\u200B")?.Code);
        Assert.Equal(EventRuleCodes.KeyInvisibleCharacter, PipelineEventRules.CheckKey(" \u2028 ")?.Code);
        Assert.Equal(EventRuleCodes.InvalidUnicode, PipelineEventRules.CheckKey("e\u0301\uD800")?.Code);
    }
}
