using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
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
        var options = new LoadOptions
        {
            Api = new Uri(app.GetEndpoint("api", "http"), "/"),
            ApiKey = PipelineAppFixture.ApiKey,
            Rate = 1500,
            Count = 20_000,
            Keys = 40,
            BatchSize = 100,
            Concurrency = 4,
            DuplicateRatio = 0.02,
            Verify = true,
            SettleTimeout = TimeSpan.FromMinutes(2),
            KeyPrefix = $"failover-{Guid.NewGuid():N}"[..17],
            Seed = 9,
        };
        var output = new StringWriter();
        var load = Task.Run(() => LoadCommand.RunAsync(options, output, TextWriter.Null, TimeProvider.System, CancellationToken.None));

        Assert.Equal(2, await CountRunningInstancesAsync(app));
        await Task.Delay(TimeSpan.FromSeconds(5));
        await ServiceProcess.KillNineAsync(app, "stream-processor", "Pipeline.Stream");
        var killed = await app.ResourceNotifications
            .WaitForResourceAsync("stream-processor", e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text))
            .WaitAsync(TimeSpan.FromSeconds(30));
        var outcome = await load;

        Assert.True(outcome.ExitCode == LoadCommand.Success, output.ToString());
        Assert.Equal(40, outcome.Verification!.KeysChecked);
        Assert.NotEqual(0, killed.Snapshot.ExitCode); // it was killed, not stopped
    }

    private static async Task<int> CountRunningInstancesAsync(DistributedApplication app)
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

        return running.Count;
    }
}
