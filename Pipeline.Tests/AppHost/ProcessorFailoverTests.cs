using Pipeline.LoadGenerator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// Two stream processor instances through the AppHost in local mode: one is killed with
/// SIGKILL during a load and not restarted; the other takes over its partitions and every
/// aggregate still equals the truth.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class ProcessorFailoverTests
{
    [Fact]
    public async Task WhenOneOfTwoProcessorInstancesIsKilledTheOtherTakesOverAndNothingIsLostOrCountedTwice()
    {
        await using var app = await PipelineAppFixture.StartAsync(otlpEndpoint: null, "--Pipeline:StreamProcessorInstances=2");
        await using var load = VerifiedLoad.Start(app, "failover", rate: 1500, count: 20_000, keys: 40, seed: 9);

        var instances = await RunningInstancesAsync(app);
        Assert.Equal(2, instances.Count);
        await using var logs = await ResourceLogTail.StartAsync(app, ["api", "sink"], instances);
        await Task.Delay(TimeSpan.FromSeconds(5));
        await ServiceProcess.KillNineAsync(app, "stream-processor", "Pipeline.Stream");
        var killed = await app.ResourceNotifications
            .WaitForResourceAsync("stream-processor", e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text))
            .WaitAsync(TimeSpan.FromSeconds(30));
        var outcome = await load.Outcome;

        Assert.True(outcome.ExitCode == LoadCommand.Success, $"{load.Output}\n{logs}");
        Assert.Equal(40, outcome.Verification!.KeysChecked);
        Assert.NotEqual(0, killed.Snapshot.ExitCode); // it was killed, not stopped
    }

    private static async Task<IReadOnlyCollection<string>> RunningInstancesAsync(DistributedApplication app)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var running = new HashSet<string>();
        await foreach (var update in app.ResourceNotifications.WatchAsync(timeout.Token))
        {
            if (update.Resource.Name == "stream-processor" && update.Snapshot.State?.Text == KnownResourceStates.Running)
            {
                running.Add(update.ResourceId);
                if (running.Count == 2)
                {
                    break;
                }
            }
        }

        return running;
    }
}
