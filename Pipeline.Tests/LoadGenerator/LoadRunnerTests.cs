using Pipeline.LoadGenerator;

namespace Pipeline.Tests.LoadGenerator;

/// <summary>The sender against a scripted ingest API that holds requests back (503 backlog-full).</summary>
public sealed class LoadRunnerTests
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task ARequestHeldBackPastTheMaxWaitEndsTheRunInsteadOfWaitingAsLongForEveryRequestLeft()
    {
        var api = new HoldingBackApi(heldBackAnswers: int.MaxValue);
        var (statistics, truth, summary) = await RunAsync(api, count: 10_000);

        // Four senders each wait out one request (2 s at Retry-After 1 s), then stop: not 100 requests of 2 s each.
        Assert.InRange(statistics.HeldBackPastMaxWait, 100, 400);
        Assert.Equal(0, statistics.AcceptedEvents);
        Assert.Equal(0, truth.AcceptedEvents);
        Assert.InRange(statistics.Requests, 4, 4 * 4);
        Assert.Contains("STOPPED EARLY", summary, StringComparison.Ordinal);
        Assert.Contains("503 backlog-full", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARequestHeldBackForLessThanTheMaxWaitIsSentAgainAndTheRunGoesOn()
    {
        var api = new HoldingBackApi(heldBackAnswers: 3);
        var (statistics, truth, summary) = await RunAsync(api, count: 2_000);

        Assert.Equal(0, statistics.HeldBackPastMaxWait);
        Assert.Equal(2_000, statistics.AcceptedEvents);
        Assert.Equal(2_000, truth.AcceptedEvents);
        Assert.DoesNotContain("STOPPED EARLY", summary, StringComparison.Ordinal);
    }

    private static async Task<(LoadStatistics Statistics, Truth Truth, string Summary)> RunAsync(HoldingBackApi api, long count)
    {
        var options = new LoadOptions
        {
            Api = new Uri("http://127.0.0.1/"),
            ApiKey = "key",
            Count = count,
            BatchSize = 100,
            Concurrency = 4,
            MaxWait = MaxWait,
            KeyPrefix = "held",
            Seed = 1,
        };
        var truth = new Truth(options.Windows);
        var statistics = new LoadStatistics();
        var runner = new LoadRunner(options, new IngestClient(api.Client), new EventSource(options, TimeProvider.System), truth, statistics, TimeProvider.System);

        await runner.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        return (statistics, truth, new LoadSummary(options, statistics, truth, TimeSpan.FromSeconds(1), verification: null).ToText());
    }

    /// <summary>Answers 503 backlog-full with Retry-After 1 s a number of times, then 202 to everything.</summary>
    private sealed class HoldingBackApi(int heldBackAnswers) : HttpMessageHandler
    {
        private int _heldBackLeft = heldBackAnswers;

        public HttpClient Client => new(this) { BaseAddress = new Uri("http://127.0.0.1/") };

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _heldBackLeft) < 0)
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Accepted));
            }

            var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
            {
                Content = new StringContent("""{"status":503,"code":"backlog-full"}""", Encoding.UTF8, "application/problem+json"),
            };
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
            return Task.FromResult(response);
        }
    }
}
