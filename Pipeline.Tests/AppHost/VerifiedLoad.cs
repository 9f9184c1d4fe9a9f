using Pipeline.LoadGenerator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The load generator running in the background against an AppHost's API, as the fault tests
/// run it: batches of 100 from 4 clients, 2 % of events sent again with the same id, and the
/// oracle (<c>--verify</c>) with up to two minutes for the pipeline to settle.
/// </summary>
internal sealed class VerifiedLoad : IAsyncDisposable
{
    /// <summary>
    /// The longest a load may take: its sending, a request held back for the load generator's
    /// whole <c>--max-wait</c> (2 min, which ends the run), and the settle time (2 min), with room.
    /// A load past it fails its test, naming the load, rather than hold up the suite.
    /// </summary>
    private static readonly TimeSpan OutcomeLimit = TimeSpan.FromMinutes(8);

    private readonly StringWriter _output = new();
    private readonly CancellationTokenSource _stop = new();

    private VerifiedLoad(LoadOptions options)
    {
        Options = options;
        Outcome = RunAsync(options);
    }

    public LoadOptions Options { get; }

    /// <summary>Completes once the load is sent and verified.</summary>
    public Task<LoadOutcome> Outcome { get; }

    /// <summary>What the load generator printed: its summary and any mismatches.</summary>
    public string Output => _output.ToString();

    /// <summary>What a failed assertion shows: the services' last lines, then the load generator's verdict last, where CI's tail of a failure shows it.</summary>
    public string FailureReport(ResourceLogTail logs) => $"{logs}\n--- the load generator ---\n{Output}";

    private async Task<LoadOutcome> RunAsync(LoadOptions options)
    {
        var run = Task.Run(() => LoadCommand.RunAsync(options, TextWriter.Synchronized(_output), TextWriter.Null, TimeProvider.System, _stop.Token));
        try
        {
            return await run.WaitAsync(OutcomeLimit);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The load {options.KeyPrefix} had not ended after {OutcomeLimit.TotalMinutes} min.");
        }
    }

    /// <summary>
    /// Stops a load its test no longer waits for (the test failed before its end), so that it does
    /// not go on sending to the shared AppHost while the next tests run.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Outcome;
        }
        catch (Exception)
        {
            // Stopped, or failed in a way its test has already read from Outcome: the test has its
            // own verdict, which an exception from here would replace.
        }

        _stop.Dispose();
    }

    /// <summary>Starts a load with options of its own.</summary>
    public static VerifiedLoad Start(LoadOptions options) => new(options);

    /// <summary>Starts <paramref name="count"/> events at <paramref name="rate"/> per second on <paramref name="keys"/> keys named after <paramref name="name"/>.</summary>
    public static VerifiedLoad Start(DistributedApplication app, string name, int rate, int count, int keys, int seed) => new(new LoadOptions
    {
        Api = new Uri(app.GetEndpoint("api", "http"), "/"),
        ApiKey = PipelineAppFixture.ApiKey,
        Rate = rate,
        Count = count,
        Keys = keys,
        BatchSize = 100,
        Concurrency = 4,
        DuplicateRatio = 0.02,
        Verify = true,
        SettleTimeout = TimeSpan.FromMinutes(2),
        KeyPrefix = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)],
        Seed = seed,
    });
}
