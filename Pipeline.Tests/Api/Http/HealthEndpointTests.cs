using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.Tests.Api.Events;

namespace Pipeline.Tests.Api.Http;

/// <summary>The API's /health is public, so no request may make it run a check; it still tells the truth.</summary>
public sealed class HealthEndpointTests(SinglePartitionEventsTopic topic) : IClassFixture<SinglePartitionEventsTopic>
{
    [Fact]
    public async Task ManyAnonymousHealthRequestsRunNoCheck()
    {
        var runs = 0;
        await using var api = new IngestApiFactory(topic.BootstrapServers, services: services => services.AddHealthChecks()
            .AddCheck("counted", () =>
            {
                Interlocked.Increment(ref runs);
                return HealthCheckResult.Healthy();
            }));
        using var anonymous = api.CreateApiClient(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);

        var before = Volatile.Read(ref runs);
        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => anonymous.GetAsync("/health")));
        var after = Volatile.Read(ref runs);

        Assert.All(answers, answer => Assert.Equal(HttpStatusCode.OK, answer.StatusCode));
        Assert.True(before >= 1, "The checks never ran.");
        Assert.True(after - before <= 1, $"100 requests ran the checks {after - before} times.");
    }

    [Fact]
    public async Task AnUnhealthyCheckShowsOnHealthAsA503()
    {
        await using var api = new IngestApiFactory(topic.BootstrapServers, services: services => services.AddHealthChecks()
            .AddCheck("records-lost", () => HealthCheckResult.Unhealthy("lost"), tags: ["ready"]));
        using var anonymous = api.CreateApiClient(apiKey: null);

        var health = await anonymous.GetAsync("/health");
        var alive = await anonymous.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("Unhealthy", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }
}
