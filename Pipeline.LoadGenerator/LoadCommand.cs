using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Pipeline.LoadGenerator;

/// <summary>The command line: options, their defaults, and the run they start.</summary>
internal static class LoadCommand
{
    /// <summary>Exit codes: 0 success, 1 verification failed, 2 bad usage, nothing accepted, or a request held back past <c>--max-wait</c> (the run stops there).</summary>
    public const int Success = 0, VerificationFailed = 1, UsageOrRunFailed = 2;

    public static RootCommand Create(TextWriter output, TextWriter progressOutput, TimeProvider time)
    {
        var api = new Option<string?>("--api") { Description = "API base address. Default: $PIPELINE_API_URL, then the AppHost's services__api__http__0, then http://localhost:5180." };
        var apiKey = new Option<string?>("--api-key") { Description = "X-Api-Key value. Default: $PIPELINE_API_KEY." };
        var rate = new Option<double>("--rate") { Description = "Target events per second; 0 sends as fast as the API accepts.", DefaultValueFactory = _ => 500 };
        var duration = new Option<string?>("--duration") { Description = "How long to send, e.g. 30s, 5m. Default 30s unless --count is given." };
        var count = new Option<long?>("--count") { Description = "How many events to send (stops at the first of --count and --duration)." };
        var keys = new Option<int>("--keys") { Description = "Number of distinct event keys.", DefaultValueFactory = _ => 100 };
        var skew = new Option<string>("--skew") { Description = "Key distribution: uniform, or hot:SHARE[:KEYS] (e.g. hot:0.8:5 puts 80% of events on 5 keys).", DefaultValueFactory = _ => "uniform" };
        var batchSize = new Option<int>("--batch-size") { Description = "Events per request: 1 uses POST /api/events, more uses POST /api/events/batch.", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at once.", DefaultValueFactory = _ => 8 };
        var values = new Option<string>("--values") { Description = "Value distribution: uniform:MIN:MAX, normal:MEAN:STDDEV or constant:VALUE (rounded to quarters).", DefaultValueFactory = _ => "uniform:0:100" };
        var duplicates = new Option<double>("--duplicates") { Description = "Share of sends that repeat an earlier event with the same id (a client retry).", DefaultValueFactory = _ => 0 };
        var late = new Option<double>("--late") { Description = "Share of events stamped 3 hours in the past, after their windows closed.", DefaultValueFactory = _ => 0 };
        var verify = new Option<bool>("--verify") { Description = "After sending, compare every aggregate the API serves with what it accepted; exit 1 on any difference." };
        var settle = new Option<string>("--settle-timeout") { Description = "How long --verify waits for the pipeline to catch up.", DefaultValueFactory = _ => "60s" };
        var maxWait = new Option<string>("--max-wait") { Description = "How long one request may be held back by the API (429 rate-limited, 503 backlog-full); a request held back longer ends the run (exit code 2).", DefaultValueFactory = _ => "2m" };
        var windows = new Option<string>("--windows") { Description = "Window sizes the stream processor computes (its Aggregation:Windows).", DefaultValueFactory = _ => "1m,1h" };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON on standard output (progress stays on standard error)." };
        var seed = new Option<int?>("--seed") { Description = "Random seed, for a repeatable sequence of keys and values." };
        var keyPrefix = new Option<string?>("--key-prefix") { Description = "Prefix of this run's keys. Default: load-<random>, so runs never mix." };

        var root = new RootCommand("Pipeline load generator: posts events to the API with live progress and, with --verify, checks the aggregates it then serves.")
        {
            api, apiKey, rate, duration, count, keys, skew, batchSize, concurrency, values, duplicates, late, verify, settle, maxWait, windows, json, seed, keyPrefix,
        };

        root.SetAction(async (parse, cancellationToken) =>
        {
            LoadOptions options;
            try
            {
                options = new LoadOptions
                {
                    Api = ResolveApi(parse.GetValue(api)),
                    ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("PIPELINE_API_KEY")
                        ?? throw new FormatException("No API key: pass --api-key or set PIPELINE_API_KEY."),
                    Rate = NonNegative(parse.GetValue(rate), "--rate"),
                    Count = parse.GetValue(count) is { } n ? (n > 0 ? n : throw new FormatException("--count must be positive.")) : null,
                    Duration = parse.GetValue(duration) is { } d ? WindowSize.Parse(d)
                        : parse.GetValue(count) is null ? TimeSpan.FromSeconds(30) : null,
                    Keys = Positive(parse.GetValue(keys), "--keys"),
                    Skew = KeySkew.Parse(parse.GetValue(skew)!),
                    BatchSize = Positive(parse.GetValue(batchSize), "--batch-size"),
                    Concurrency = Positive(parse.GetValue(concurrency), "--concurrency"),
                    Values = ValueDistribution.Parse(parse.GetValue(values)!),
                    DuplicateRatio = Share(parse.GetValue(duplicates), "--duplicates"),
                    LateRatio = Share(parse.GetValue(late), "--late"),
                    Verify = parse.GetValue(verify),
                    SettleTimeout = WindowSize.Parse(parse.GetValue(settle)!),
                    MaxWait = WindowSize.Parse(parse.GetValue(maxWait)!),
                    Windows = parse.GetValue(windows)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(size => { WindowSize.Parse(size); return size; }).ToList(),
                    Json = parse.GetValue(json),
                    Seed = parse.GetValue(seed),
                    KeyPrefix = parse.GetValue(keyPrefix) ?? $"load-{Guid.NewGuid().ToString("N")[..8]}",
                };
            }
            catch (FormatException exception)
            {
                await progressOutput.WriteLineAsync($"error: {exception.Message}");
                return UsageOrRunFailed;
            }

            return (await RunAsync(options, output, progressOutput, time, cancellationToken)).ExitCode;
        });
        return root;
    }

    /// <summary>Sends, optionally verifies, prints the summary; the outcome keeps the truth for a later check.</summary>
    public static async Task<LoadOutcome> RunAsync(LoadOptions options, TextWriter output, TextWriter progressOutput, TimeProvider time, CancellationToken cancellationToken)
    {
        using var http = IngestClient.CreateHttpClient(options.Api, options.ApiKey, options.Concurrency);
        var truth = new Truth(options.Windows);
        var statistics = new LoadStatistics();
        var started = time.GetUtcNow();

        await progressOutput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Sending to {options.Api} as keys {options.KeyPrefix}-*: rate {(options.Rate > 0 ? options.Rate + "/s" : "max")}, " +
            $"{(options.Count is { } c ? c + " events" : "")}{(options.Count is not null && options.Duration is not null ? " or " : "")}{(options.Duration is { } d ? d.TotalSeconds + " s" : "")}, " +
            $"{options.Keys} keys ({(options.Skew.HotKeys > 0 ? $"{options.Skew.HotShare:P0} on {options.Skew.HotKeys} hot" : "uniform")}), " +
            $"batch {options.BatchSize}, concurrency {options.Concurrency}"));

        await using (var progress = new ProgressReporter(statistics, progressOutput, time))
        {
            progress.Start();
            var runner = new LoadRunner(options, new IngestClient(http), new EventSource(options, time), truth, statistics, time);
            await runner.RunAsync(cancellationToken);
        }

        var sendingTook = time.GetUtcNow() - started;
        Verification? verification = null;
        if (options.Verify)
        {
            await progressOutput.WriteLineAsync($"Verifying {truth.Totals.Count} keys against {truth.AcceptedEvents} accepted events...");
            verification = await new Verifier(http, truth, options.SettleTimeout, time)
                .VerifyAsync(line => progressOutput.WriteLine(line), cancellationToken);
        }

        var summary = new LoadSummary(options, statistics, truth, sendingTook, verification);
        await output.WriteLineAsync(options.Json ? JsonSerializer.Serialize(summary.ToJson(), new JsonSerializerOptions { WriteIndented = true }) : summary.ToText());

        var exitCode = statistics.AcceptedEvents == 0 || statistics.HeldBackPastMaxWait > 0 ? UsageOrRunFailed
            : verification is { Passed: false } ? VerificationFailed
            : Success;
        return new(exitCode, truth, verification);
    }

    private static Uri ResolveApi(string? given)
    {
        var address = given
            ?? Environment.GetEnvironmentVariable("PIPELINE_API_URL")
            ?? Environment.GetEnvironmentVariable("services__api__http__0")
            ?? "http://localhost:5180";
        if (!Uri.TryCreate(address.EndsWith('/') ? address : address + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"'{address}' is not an http(s) address.");
        }

        return uri;
    }

    private static int Positive(int value, string name) => value > 0 ? value : throw new FormatException($"{name} must be positive.");

    private static double NonNegative(double value, string name) => value >= 0 && double.IsFinite(value) ? value : throw new FormatException($"{name} must be 0 or more.");

    private static double Share(double value, string name) => value is >= 0 and < 1 ? value : throw new FormatException($"{name} must be at least 0 and below 1.");
}

/// <summary>How a run ended, with what it knows to be true.</summary>
internal sealed record LoadOutcome(int ExitCode, Truth Truth, Verification? Verification);
