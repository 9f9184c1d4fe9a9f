namespace Pipeline.Tests.StreamProcessor;

/// <summary>The service as a process: start-up validation and the health it reports.</summary>
[Collection(LocalKafkaCollection.Name)]
public sealed class HostingTests
{
    [Fact]
    public void TheServiceRefusesToStartWithInvalidSettingsAndSaysWhy()
    {
        using var process = ProcessorProcess.Start("misconfigured", bootstrapServers: "", applicationId: "bad id", new Dictionary<string, string>
        {
            ["Aggregation__Windows__0"] = "soon",
            ["Aggregation__Grace"] = "-5s",
            ["StreamProcessor__CommitInterval"] = "1s",
            ["Aggregation__DedupeMaxIds"] = "-1",
        });

        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "The service kept running with invalid settings.");
        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("Aggregation:Windows entry 'soon'", process.Output, StringComparison.Ordinal);
        Assert.Contains("Aggregation:Grace", process.Output, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:kafka", process.Output, StringComparison.Ordinal);
        Assert.Contains("StreamProcessor:ApplicationId must be 1-200 characters", process.Output, StringComparison.Ordinal);
        Assert.Contains("Aggregation:DedupeMaxIds must be 0", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthSaysNotReadyWhileStreamizCannotRun()
    {
        using var broker = LocalKafkaBroker.Start();
        var applicationId = "health-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var topic in Topics.All)
        {
            broker.CreateTopic(topic, 2);
        }

        // Without its changelog topics (which this broker cannot create on request) Streamiz cannot
        // run; it keeps retrying to create them, and the service says it is not ready meanwhile.
        using var process = ProcessorProcess.Start("health", broker.BootstrapServers, applicationId,
            new Dictionary<string, string> { ["Logging__LogLevel__Microsoft.Extensions.Diagnostics.HealthChecks"] = "Warning" });
        var (status, body) = await process.Health(TimeSpan.FromSeconds(6));
        var (aliveStatus, _) = await process.Alive();

        // Still starting, so Degraded (logged at Warning, not Error) yet answered 503 like Unhealthy.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Degraded", body);
        Assert.Contains("not RUNNING", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("fail: Microsoft.Extensions.Diagnostics.HealthChecks", process.Output, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, aliveStatus); // alive, just not ready: no reason to restart it
    }
}
