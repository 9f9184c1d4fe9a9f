namespace Pipeline.Tests.Contracts;

/// <summary>What a refusal tells the sender: which character, where (counted in code points, as lengths are).</summary>
public sealed class PipelineEventRulesTests
{
    [Theory]
    [InlineData("a\u200Bb", EventRuleCodes.KeyInvisibleCharacter, "U+200B at character 2")]
    [InlineData("\U0001F600\U0001F600\u202Ex", EventRuleCodes.KeyInvisibleCharacter, "U+202E at character 3")]
    [InlineData("\uFEFF", EventRuleCodes.KeyInvisibleCharacter, "U+FEFF at character 1")]
    [InlineData("cafe\u0301", EventRuleCodes.KeyNotNfc, "at character 4 (U+0065 U+0301)")]
    [InlineData("\U0001F600e\u0301", EventRuleCodes.KeyNotNfc, "at character 2 (U+0065 U+0301)")]
    [InlineData("\u212B", EventRuleCodes.KeyNotNfc, "at character 1 (U+212B)")]
    public void ARefusedKeyIsToldWhichCharacterAndWhere(string key, string code, string where)
    {
        var breach = PipelineEventRules.CheckKey(key);

        Assert.Equal(code, breach?.Code);
        Assert.Contains(where, breach!.Message);
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
