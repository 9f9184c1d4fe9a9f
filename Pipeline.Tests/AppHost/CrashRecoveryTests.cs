using Pipeline.LoadGenerator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// kill -9 of the stream processor, of the sink, or of both in turn, several times, while events flow through
/// the whole pipeline in local mode; afterwards every aggregate the API serves equals the truth
/// of what the API accepted: nothing lost, nothing counted twice.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class CrashRecoveryTests(PipelineAppFixture fixture)
{
    private const int Kills = 4;

    private static readonly Dictionary<string, string> Executables = new()
    {
        ["stream-processor"] = "Pipeline.Stream", // /proc/<pid>/comm keeps 15 characters
        ["sink"] = "Pipeline.Sink",
    };

    [Fact]
    public Task AggregatesEqualTheTruthAfterTheProcessorIsKilledDuringALoad() => KillInTurnDuringALoadAsync("stream-processor");

    [Fact]
    public Task AggregatesEqualTheTruthAfterTheSinkIsKilledDuringALoad() => KillInTurnDuringALoadAsync("sink");

    [Fact]
    public Task AggregatesEqualTheTruthAfterTheProcessorAndTheSinkAreKilledInTurnDuringALoad() => KillInTurnDuringALoadAsync("stream-processor", "sink");

    private async Task KillInTurnDuringALoadAsync(params string[] resources)
    {
        await using var logs = await ResourceLogTail.StartAsync(fixture.App, ["api", "stream-processor", "sink"]);
        await using var load = VerifiedLoad.Start(fixture.App, "crash", rate: 1000, count: 60_000, keys: 50, seed: 5);
        await using var stored = await StoredProgress.StartAsync(fixture.App, load.Options.KeyPrefix);

        var killed = new List<int>();
        for (var kill = 0; kill < Kills; kill++)
        {
            // Each kill hits a service that is doing its work: the restarted one has stored again.
            await stored.WaitUntilItMovesAsync(load, logs);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var resource = resources[kill % resources.Length];
            killed.Add(await ServiceProcess.KillNineAsync(fixture.App, resource, Executables[resource]));
            try
            {
                await ServiceProcess.RestartAsync(fixture.App, resource);
            }
            catch (Exception exception) when (exception is DistributedApplicationException or TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"Restarting {resource} after kill {kill + 1} failed: {exception.Message}\n{logs}");
            }
        }

        var outcome = await load.Outcome;

        Assert.Equal(Kills, killed.Distinct().Count());
        Assert.True(outcome.ExitCode == LoadCommand.Success, load.FailureReport(logs));
        Assert.Equal(50, outcome.Verification!.KeysChecked);
    }
}
