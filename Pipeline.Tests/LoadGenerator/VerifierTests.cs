using Pipeline.LoadGenerator;

namespace Pipeline.Tests.LoadGenerator;

/// <summary>The oracle against a scripted query API: what it waits out, and what it reports.</summary>
public sealed class VerifierTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A503FromTheQueryApiIsWaitedOutWithinTheSettleTime()
    {
        var api = new ScriptedQueryApi(unavailableAnswers: 2);
        var verifier = new Verifier(api.Client, OneEventTruth(), TimeSpan.FromSeconds(30), TimeProvider.System);
        var progress = new List<string>();

        var verification = await verifier.VerifyAsync(progress.Add, CancellationToken.None);

        Assert.True(verification.Passed);
        Assert.Equal(2, progress.Count(line => line.Contains("503", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A503ThatOutlastsTheSettleTimeIsAnErrorNotAPass()
    {
        var api = new ScriptedQueryApi(unavailableAnswers: int.MaxValue);
        var verifier = new Verifier(api.Client, OneEventTruth(), TimeSpan.FromSeconds(1.5), TimeProvider.System);

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => verifier.VerifyAsync(_ => { }, CancellationToken.None));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failure.StatusCode);
    }

    private static Truth OneEventTruth()
    {
        var truth = new Truth(["1m"]);
        truth.Accept(new GeneratedEvent("id-1", "k", 2.5, Noon, Late: false));
        return truth;
    }

    /// <summary>Answers 503 a number of times, then the figures of <see cref="OneEventTruth"/>.</summary>
    private sealed class ScriptedQueryApi(int unavailableAnswers) : HttpMessageHandler
    {
        private int _unavailableLeft = unavailableAnswers;

        public HttpClient Client => new(this) { BaseAddress = new Uri("http://127.0.0.1/") };

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref _unavailableLeft) >= 0)
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
            }

            var body = request.RequestUri!.AbsolutePath.EndsWith("/windows", StringComparison.Ordinal)
                ? """{"items":[{"windowStart":"2026-11-29T12:00:00+00:00","count":1,"sum":2.5,"min":2.5,"max":2.5,"mean":2.5}],"nextCursor":null}"""
                : """{"key":"k","count":1,"sum":2.5,"min":2.5,"max":2.5,"mean":2.5}""";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        }
    }
}
