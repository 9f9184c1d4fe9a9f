namespace Pipeline.Tests.Api.Events;

/// <summary>
/// Hundreds of generated bodies, each broken in a way that makes it certainly invalid: every one
/// gets a 4xx problem, and the topic gets none of them.
/// </summary>
public sealed class MalformedInputFuzzTests(SinglePartitionApi fixture) : IClassFixture<SinglePartitionApi>
{
    private const int Cases = 300;
    private const int Seed = 20250131;

    [Fact]
    public async Task GeneratedMalformedBodiesGetOnly4xxAnswersAndNoRecordInTheTopic()
    {
        var client = fixture.Client;
        var generator = new MalformedBodies(new Random(Seed));
        var unexpected = new List<string>();
        var codes = new Dictionary<string, int>();

        var before = await client.PostMarkerAsync();
        for (var i = 0; i < Cases; i++)
        {
            var (path, contentType, body, how) = generator.Next();
            var response = await client.PostAsync(path, body, contentType);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            string? code = null;
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
            {
                var problem = JsonDocument.Parse(text).RootElement;
                code = problem.GetProperty("code").GetString();
                if (problem.TryGetProperty("errorCodes", out var fieldCodes))
                {
                    foreach (var fieldCode in fieldCodes.EnumerateObject().SelectMany(field => field.Value.EnumerateArray()))
                    {
                        codes[fieldCode.GetString()!] = codes.GetValueOrDefault(fieldCode.GetString()!) + 1;
                    }
                }
            }

            if (status is < 400 or >= 500 || code is null)
            {
                unexpected.Add($"case {i} ({how}) {path} {contentType}: {status} {text}\n  body: {Encoding.UTF8.GetString(body)}");
            }
            else
            {
                codes[code] = codes.GetValueOrDefault(code) + 1;
            }
        }

        var after = await client.PostMarkerAsync();

        Assert.True(unexpected.Count == 0, $"seed {Seed}: {unexpected.Count} answers were not 4xx problems:\n" + string.Join("\n", unexpected.Take(10)));
        Assert.Equal(before.Offset + 1, after.Offset);
        Assert.DoesNotContain(fixture.ReadAll(), record => record.Message.Key.StartsWith("fuzz", StringComparison.Ordinal));
        // The generator really reaches the different kinds of refusal.
        Assert.True(codes.Count >= 15, "Too few kinds of refusal: " + string.Join(", ", codes));
    }

    /// <summary>Bodies broken by construction: truncated, garbled, mistyped, misnamed, or mis-sent.</summary>
    private sealed class MalformedBodies(Random random)
    {
        private static readonly string[] NotNumbers = ["\"21.5\"", "true", "false", "null", "{}", "[]", "\"NaN\"", "\"\"", "[1,2]", "{\"v\":1}"];
        private static readonly string[] BadTimestamps =
            ["\"yesterday\"", "\"2025-13-01T00:00:00Z\"", "\"2025-01-01T00:00:00\"", "\"2025-01-01 00:00\"", "12345", "true", "\"\"", "\"2025-01-01T00:00:00+25:00\""];

        public (string Path, string? ContentType, byte[] Body, string How) Next()
        {
            var batch = random.Next(3) == 0;
            var ndjson = batch && random.Next(2) == 0;
            var kind = random.Next(10);
            if (kind == 9)
            {
                // A wrong content type on an otherwise valid body.
                string[] wrong = ["text/plain", "application/xml", "application/json; charset=latin1", "multipart/form-data"];
                return (batch ? ApiRequests.Batch : ApiRequests.Events, wrong[random.Next(wrong.Length)],
                    Encoding.UTF8.GetBytes(batch ? "[" + ValidEvent() + "]" : ValidEvent()), "content type");
            }

            var (broken, how) = Broken(kind);
            if (!batch)
            {
                return (ApiRequests.Events, "application/json", broken, how);
            }

            // One broken event among valid ones.
            var events = Enumerable.Range(0, random.Next(1, 6)).Select(_ => Encoding.UTF8.GetBytes(ValidEvent())).ToList();
            events.Insert(random.Next(events.Count + 1), broken);
            var separator = ndjson ? "\n"u8.ToArray() : ","u8.ToArray();
            var joined = events.SelectMany((e, i) => i == 0 ? e : [.. separator, .. e]).ToArray();
            return ndjson
                ? (ApiRequests.Batch, "application/x-ndjson", joined, "ndjson: " + how)
                : (ApiRequests.Batch, "application/json", [(byte)'[', .. joined, (byte)']'], "array: " + how);
        }

        private (byte[] Body, string How) Broken(int kind)
        {
            var id = "fuzz-" + random.Next();
            var key = "fuzz-" + random.Next(100);
            switch (kind)
            {
                case 0:
                    var valid = Encoding.UTF8.GetBytes(ValidEvent());
                    return (valid[..random.Next(1, valid.Length)], "truncated");
                case 1:
                    var bytes = new byte[random.Next(1, 120)];
                    random.NextBytes(bytes);
                    // Without '{' no byte string can hold an event object.
                    return (bytes.Select(b => b == (byte)'{' ? (byte)'}' : b).ToArray(), "random bytes");
                case 2:
                    return (Utf8($$"""{"id":"{{id}}","key":"{{key}}","value":{{NotNumbers[random.Next(NotNumbers.Length)]}}}"""), "value not a number");
                case 3:
                    var badKey = random.Next(4) switch
                    {
                        0 => "\"\"",
                        1 => "\"" + new string('k', 257 + random.Next(100)) + "\"",
                        2 => random.Next(1000).ToString(),
                        _ => "\"fuzz\\u00" + random.Next(0x00, 0x20).ToString("x2") + "\"",
                    };
                    return (Utf8($$"""{"id":"{{id}}","key":{{badKey}},"value":1}"""), "bad key");
                case 4:
                    string[] names = ["Key", "VALUE", "ts", "time", "id ", "data", "vaule", "keys", "Timestamp", "Id"];
                    return (Utf8($$"""{"id":"{{id}}","key":"{{key}}","value":1,"{{names[random.Next(names.Length)]}}":1}"""), "unknown property");
                case 5:
                    return (Utf8($$"""{"id":"{{id}}","key":"{{key}}","value":1,"timestamp":{{BadTimestamps[random.Next(BadTimestamps.Length)]}}}"""), "bad timestamp");
                case 6:
                    string[] structural =
                    [
                        $$"""{"id":"{{id}}","key":"{{key}}","key":"{{key}}","value":1}""",
                        $$"""{"id":"{{id}}","key":"{{key}}","value":1,}""",
                        $$"""{'id':'{{id}}','key':'{{key}}','value':1}""",
                        $$"""{"id":"{{id}}","key":"{{key}}",/*c*/"value":1}""",
                        $$"""{"id":"{{id}}","key":"{{key}}","value":1""",
                        $$"""{"id":"{{id}}","key":"{{key}}","value":NaN}""",
                        new string('[', 65 + random.Next(100)) + new string(']', 65),
                        $$"""{"id":"{{id}}" "key":"{{key}}","value":1}""",
                    ];
                    return (Utf8(structural[random.Next(structural.Length)]), "structure");
                case 7:
                    byte[][] invalidSequences = [[0xC3, 0x28], [0xFF], [0xE2, 0x82], [0xED, 0xA0, 0x80]];
                    var invalidUtf8 = invalidSequences[random.Next(invalidSequences.Length)];
                    return ([.. Utf8("{\"id\":\"" + id + "\",\"key\":\"fuzz"), .. invalidUtf8, .. Utf8("\",\"value\":1}")], "invalid UTF-8");
                default:
                    return (Utf8($$"""{"id":"{{(random.Next(2) == 0 ? "" : new string('i', 129))}}","key":"{{key}}","value":1}"""), "bad id");
            }
        }

        private string ValidEvent() => JsonSerializer.Serialize(new { id = "fuzz-" + random.Next(), key = "fuzz-" + random.Next(100), value = random.NextDouble() * 100 });

        private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
    }
}
