namespace Pipeline.Tests.Api.Events;

/// <summary>
/// A bounded run of generated hostile requests (a fixed seed, at most <see cref="Cases"/> requests
/// and <see cref="TimeBudget"/>) against both ingest endpoints and every query parameter of every
/// read endpoint, with and without a key: no answer is a 5xx, and no body holds stack-trace text.
/// </summary>
public sealed class HostileInputFuzzTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    private const int Cases = 600;
    private const int Seed = 20261201;
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(90);

    // What a stack trace or an internal failure leaves in a body.
    private static readonly string[] Leaks = ["   at ", "Exception", "Npgsql", "Confluent", "System.", "Pipeline.Api", "--- End of"];

    [Fact]
    public async Task GeneratedHostileRequestsGetNo5xxAndNoStackText()
    {
        var generator = new HostileRequests(new Random(Seed));
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        var clock = Stopwatch.StartNew();
        var sent = 0;
        // Over a real connection: Kestrel, not the test server, is what meets a hostile request line.
        await using var api = new IngestApiFactory(topic.BootstrapServers);
        api.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        api.StartServer();
        using var client = api.CreateApiClient();
        using var anonymous = api.CreateApiClient(apiKey: null);

        for (; sent < Cases && clock.Elapsed < TimeBudget; sent++)
        {
            var (request, anonymousRequest, how) = generator.Next();
            using (request)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                using var response = await (anonymousRequest ? anonymous : client).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var status = (int)response.StatusCode;
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                var body = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
                    ? ""
                    : await response.Content.ReadAsStringAsync(timeout.Token);
                var leak = Leaks.FirstOrDefault(leak => body.Contains(leak, StringComparison.Ordinal));
                if (status >= 500 || leak is not null)
                {
                    failures.Add($"case {sent} ({how}): {request.Method} {request.RequestUri}: {status} {(leak is null ? "" : "leaks '" + leak + "' ")}{body[..Math.Min(body.Length, 400)]}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"seed {Seed}: {failures.Count} of {sent} answers failed:\n" + string.Join("\n", failures.Take(15)));
        Assert.True(sent >= 200, $"Only {sent} requests within {TimeBudget}.");
        // The run reaches successes and refusals both, not just one kind of answer.
        Assert.True(statuses.Keys.Count(status => status < 300) >= 1 && statuses.Keys.Count(status => status >= 400) >= 4,
            "Too few kinds of answer: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
    }

    /// <summary>Requests made to break something: odd values in every parameter, odd bodies, odd methods, odd headers.</summary>
    private sealed class HostileRequests(Random random)
    {
        private static readonly string[] Keys =
            ["sensor-7", "stream", "windows", ".", "..", "a/b", "a%2Fb", "%00", "%FF%FE", "%C0%AF", "\u202Eevil", "caf\u0065\u0301", "😀", "%", "%%", "a?b", "a#b",
             " ", "null", "undefined", "' OR 1=1 --", "k\u0000k", new string('k', 300), new string('é', 5000)];

        private static readonly string[] Numbers =
            ["", " ", "0", "1", "-1", "1000", "1001", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e3", "1.5", "0x10", "+5", "１０", "NaN", "abc", "%00", "1%00"];

        private static readonly string[] Instants =
            ["", "yesterday", "2030-01-02T03:00:00Z", "2030-01-02T03:00:00", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.9999999Z",
             "9999-12-31T23:59:59-14:00", "2030-02-30T00:00:00Z", "2030-01-02T24:00:00Z", "2030-01-02T03:00:00+99:99", "1969-12-31T23:59:59.9999999Z",
             "2030-01-02 03:00:00Z", "2030-01-02T03:00:00.12345678Z", "-0001-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"];

        private static readonly string[] Cursors =
            ["", "A", "AAcO0Cq7ugA", "f_________8", new string('A', 32), new string('_', 32), "!!!!", "%00", new string('A', 5000), "AAcO0Cq7ugCJ3Lx0pZ1yQ0m1s4TzVh8K", "AAcO0Cq7ugCJ3Lx0pZ1yQ0m1s4TzVh8="];

        private static readonly string[] Words = ["count", "sum", "updatedAt", "mean", "", "COUNT", "1m", "1h", "5m", "all", "1M", "%00", "1m;DROP TABLE aggregate_totals"];

        private static readonly string[] ContentTypes =
            ["application/json", "application/x-ndjson", "application/json; charset=utf-8", "application/json; charset=utf-16", "text/plain", "application/json; charset=\"",
             "application/json;;;", "*/*", "", "application/x-ndjson; charset=utf8", "multipart/form-data; boundary=x"];

        public (HttpRequestMessage Request, bool Anonymous, string How) Next()
        {
            var anonymous = random.Next(10) == 0;
            return random.Next(10) switch
            {
                < 4 => Ingest(anonymous),
                < 9 => Query(anonymous),
                _ => Matrix(anonymous),
            };
        }

        private (HttpRequestMessage, bool, string) Query(bool anonymous)
        {
            var key = Uri.EscapeDataString(Pick(Keys));
            var pathKey = random.Next(3) == 0 ? Pick(Keys) : key; // sometimes unescaped, as a careless client would
            var (path, parameters) = random.Next(6) switch
            {
                0 => ($"/api/aggregates/{pathKey}", Array.Empty<string>()),
                1 => ($"/api/aggregates/{pathKey}/windows", ["size", "from", "to", "limit", "cursor"]),
                2 => ("/api/totals", ["key"]),
                3 => ("/api/windows", ["key", "size", "from", "to", "limit", "cursor"]),
                4 => ("/api/keys", ["orderBy", "limit"]),
                _ => ("/api/aggregates/stream", ["key"]),
            };
            var query = parameters.Where(_ => random.Next(3) > 0).Select(name => name + "=" + Uri.EscapeDataString(Value(name)));
            if (random.Next(8) == 0)
            {
                query = query.Append("limit=1&limit=2"); // the same parameter twice
            }

            var url = path + "?" + string.Join("&", query);
            var method = random.Next(10) == 0 ? HttpMethod.Head : HttpMethod.Get;
            var request = new HttpRequestMessage(method, url);
            if (path.EndsWith("stream", StringComparison.Ordinal))
            {
                request.Headers.Accept.ParseAdd("text/event-stream");
            }

            return (request, anonymous, "query " + path);
        }

        private string Value(string name) => name switch
        {
            "key" => Pick(Keys),
            "limit" => Pick(Numbers),
            "from" or "to" => Pick(Instants),
            "cursor" => random.Next(4) == 0 ? Mutate(Pick(Cursors)) : Pick(Cursors),
            _ => Pick(Words),
        };

        private (HttpRequestMessage, bool, string) Ingest(bool anonymous)
        {
            var batch = random.Next(2) == 0;
            var (body, how) = random.Next(7) switch
            {
                0 => (Encoding.UTF8.GetBytes(batch ? "[" + ValidEvent() + "," + ValidEvent() + "]" : ValidEvent()), "valid"),
                1 => (MutateBytes(Encoding.UTF8.GetBytes(batch ? "[" + ValidEvent() + "]" : ValidEvent())), "mutated"),
                2 => (Encoding.UTF8.GetBytes(string.Join(Pick(["\n", "\r\n", "\n\n", "\r", "\u2028"]), Enumerable.Range(0, random.Next(0, 5)).Select(_ => ValidEvent()))), "ndjson lines"),
                3 => ([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(ValidEvent())], "byte order mark"),
                4 => (Encoding.UTF8.GetBytes($$"""{"key":"fuzz","value":{{Pick(["1e400", "-1e400", "1e300", "-0", "0.0000000000000000000000001", "123456789012345678901234567890", "1E+2", "01", ".5", "5."])}}}"""), "numbers"),
                5 => (Encoding.UTF8.GetBytes(new string('[', random.Next(1, 2000)) + new string(']', random.Next(1, 2000))), "nesting"),
                _ => (Encoding.UTF8.GetBytes($$"""{"key":"{{Pick(["\\ud800", "\\udc00x", "\\u0000", "\\u202e", "a\\/b", "\\\"", new string('x', 70_000)])}}","value":1,"id":"{{Pick(["\\ud800", "", " ", "x"])}}"}"""), "strings"),
            };
            var request = new HttpRequestMessage(HttpMethod.Post, batch ? ApiRequests.Batch : ApiRequests.Events)
            {
                Content = new ByteArrayContent(body),
            };
            var contentType = random.Next(4) == 0 ? Pick(ContentTypes) : batch && random.Next(2) == 0 ? "application/x-ndjson" : "application/json";
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            if (random.Next(4) == 0)
            {
                request.Headers.TryAddWithoutValidation("baggage", Pick(["a=b", new string('x', 8000), "=,=,=", "%%%"]));
                request.Headers.TryAddWithoutValidation("traceparent", Pick(["00-00000000000000000000000000000000-0000000000000000-00", "garbage", "ff-" + new string('f', 60)]));
            }

            return (request, anonymous, "ingest " + how + " " + contentType);
        }

        private (HttpRequestMessage, bool, string) Matrix(bool anonymous)
        {
            string[] methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND"];
            string[] paths = ["/api/events", "/api/events/batch", "/api/keys", "/api/aggregates", "/api/aggregates/", "/api/totals", "/api/windows", "/api", "/api/",
                "/health", "/alive", "/openapi/v1.json", "/openapi/v2.json", "/openapi/..%2Fappsettings.json", "/api/aggregates/x/windows/y", "/api//keys", "/api/./keys", "/api/aggregates/../keys", "/API/KEYS"];
            var request = new HttpRequestMessage(new HttpMethod(Pick(methods)), Pick(paths));
            return (request, anonymous, "matrix");
        }

        private string ValidEvent() =>
            $$"""{"id":"fuzz-{{random.Next()}}","key":"fuzz-{{random.Next(50)}}","value":{{(random.NextDouble() * 200 - 100).ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""";

        private string Mutate(string text)
        {
            if (text.Length == 0)
            {
                return "A";
            }

            var chars = text.ToCharArray();
            chars[random.Next(chars.Length)] = "AB_-~!"[random.Next(6)];
            return new string(chars);
        }

        private byte[] MutateBytes(byte[] bytes)
        {
            var copy = bytes.ToArray();
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            }

            return copy;
        }

        private T Pick<T>(T[] items) => items[random.Next(items.Length)];
    }
}
