using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Pipeline.Api.Events;
using Pipeline.Api.Http;
using Pipeline.Tests.StreamProcessor;

namespace Pipeline.Tests.Contracts;

/// <summary>
/// One rule for a valid event: the same key, id and value, given to the API's parser and to the
/// stream processor's topology (as a record on the events topic, which anything could have
/// written), are accepted by both or refused by both with the same code; and what both accept,
/// the processor counts.
/// </summary>
public sealed class OneRuleForAnEventTests
{
    private static readonly string LongestKey = string.Concat(Enumerable.Repeat("\\uD83D\\uDE00", PipelineEventRules.MaxKeyLength));

    /// <summary>Key and id as the content of JSON strings (escapes kept, so that no test name holds a raw control character), value as a JSON number.</summary>
    public static TheoryData<string, string, string, string?> Events() => new()
    {
        // Accepted by both.
        { "sensor-7", "evt-1", "21.5", null },
        { "edge", "evt-1", "1e300", null },
        { "edge", "evt-1", "-1e300", null },
        { "edge", "evt-1", "5e-324", null },
        { "edge", "evt-1", "-0.0", null },
        { "caf\\u00E9", "evt-1", "1", null },
        { "\\u00C5ngstr\\u00F6m", "evt-1", "1", null },
        { "\\u65E5\\u672C\\uD83D\\uDC4D", "evt-1", "1", null },
        { " padded key ", "evt-1", "1", null },
        { "\\uFB01", "evt-1", "1", null },
        { LongestKey, new string('i', PipelineEventRules.MaxIdLength), "1", null },
        { "k", "e\\u0301", "1", null },

        // Values.
        { "k", "evt-1", "1.7e308", EventRuleCodes.ValueOutOfRange },
        { "k", "evt-1", "-1.7e308", EventRuleCodes.ValueOutOfRange },
        { "k", "evt-1", "1.0000001e300", EventRuleCodes.ValueOutOfRange },
        { "k", "evt-1", "1e400", EventRuleCodes.ValueNotFinite },

        // Keys.
        { "", "evt-1", "1", EventRuleCodes.KeyEmpty },
        { new string('k', PipelineEventRules.MaxKeyLength + 1), "evt-1", "1", EventRuleCodes.KeyTooLong },
        { "nul\\u0000", "evt-1", "1", EventRuleCodes.KeyControlCharacter },
        { "c1\\u0085", "evt-1", "1", EventRuleCodes.KeyControlCharacter },
        { "lone\\uD800", "evt-1", "1", EventRuleCodes.InvalidUnicode },
        { "\\uDC00low", "evt-1", "1", EventRuleCodes.InvalidUnicode },
        { "lre\\u202A", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "rlo\\u202E", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "lri\\u2066", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "pdi\\u2069", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "lrm\\u200E", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "rlm\\u200F", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "alm\\u061C", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "zwsp\\u200B", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "zwnj\\u200C", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "zwj\\u200D", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "wj\\u2060", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "\\uFEFFbom", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "ls\\u2028", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { "ps\\u2029", "evt-1", "1", EventRuleCodes.KeyInvisibleCharacter },
        { " ", "evt-1", "1", EventRuleCodes.KeyWhitespaceOnly },
        { "\\u00A0\\u2003\\u3000", "evt-1", "1", EventRuleCodes.KeyWhitespaceOnly },
        { "cafe\\u0301", "evt-1", "1", EventRuleCodes.KeyNotNfc },
        { "\\u212B", "evt-1", "1", EventRuleCodes.KeyNotNfc },
        { "\\u1100\\u1161", "evt-1", "1", EventRuleCodes.KeyNotNfc },

        // Ids.
        { "k", "", "1", EventRuleCodes.IdEmpty },
        { "k", new string('i', PipelineEventRules.MaxIdLength + 1), "1", EventRuleCodes.IdTooLong },
        { "k", "nul\\u0000", "1", EventRuleCodes.IdControlCharacter },
        { "k", "del\\u007F", "1", EventRuleCodes.IdControlCharacter },
        { "k", "\\uD800", "1", EventRuleCodes.InvalidUnicode },
        { "k", "rlo\\u202E", "1", EventRuleCodes.IdInvisibleCharacter },
        { "k", "zwsp\\u200B", "1", EventRuleCodes.IdInvisibleCharacter },
        { "k", "\\uFEFF1", "1", EventRuleCodes.IdInvisibleCharacter },
        { "k", "  ", "1", EventRuleCodes.IdWhitespaceOnly },
    };

    [Theory]
    [MemberData(nameof(Events))]
    public void TheApiAndTheProcessorAcceptTheSameEventsAndRefuseTheOthersWithTheSameCode(string key, string id, string value, string? code)
    {
        var api = ApiVerdict(key, id, value);
        var processor = ProcessorVerdict(key, id, value);

        Assert.Equal(code, api);
        Assert.Equal(code, processor);
    }

    [Fact]
    public void EveryCodeOfTheRulesIsAnApiErrorCodeListedInTheOpenApiDocument()
    {
        var ruleCodes = typeof(EventRuleCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(field => (string)field.GetRawConstantValue()!);

        Assert.All(ruleCodes, code => Assert.Contains(code, ErrorCodes.Descriptions.Keys));
    }

    // The API's parser, as the ingest endpoint calls it for one event.
    private static string? ApiVerdict(string key, string id, string value)
    {
        var body = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","key":"{{key}}","value":{{value}}}""");
        var parsed = EventParser.ParseSingle(body, new EventRules(DateTimeOffset.UtcNow, TimeSpan.FromDays(7), TimeSpan.FromMinutes(5), 1));
        if (parsed.Failure == ParseFailure.None)
        {
            Assert.Single(parsed.Events);
            return null;
        }

        Assert.Equal(ParseFailure.Invalid, parsed.Failure);
        return Assert.Single(parsed.Errors.ToProblem("").Codes.Values.SelectMany(codes => codes));
    }

    // The processor's topology, fed the record another producer would write: the key's UTF-8 as
    // record key (a lone surrogate becomes U+FFFD there, as any encoder makes it), the event as JSON.
    private static string? ProcessorVerdict(string key, string id, string value)
    {
        using var driver = new ProcessorDriver();
        var recordKey = Encoding.UTF8.GetBytes(Regex.Unescape(key));
        var timestamp = driver.FutureHour.ToString("O", CultureInfo.InvariantCulture);
        driver.SendRaw(recordKey, Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","key":"{{key}}","value":{{value}},"timestamp":"{{timestamp}}"}"""));

        var deadLetters = driver.ReadDeadLetters();
        var updates = AggregationTests.Latest(driver.Settle());
        if (deadLetters.Count > 0)
        {
            Assert.Empty(updates);
            var reason = Assert.Single(deadLetters).Message.Headers.GetLastBytes(DeadLetterHeaders.Reason);
            return Encoding.UTF8.GetString(reason);
        }

        var allTime = updates[AggregationTests.AllTime(Regex.Unescape(key))];
        Assert.Equal((1, double.Parse(value, CultureInfo.InvariantCulture)), (allTime.Count, allTime.Sum));
        return null;
    }
}
