using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
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
        await using var logs = await ResourceLogTail.StartAsync(fixture.App, "stream-processor", "sink");
        var options = new LoadOptions
        {
            Api = new Uri(fixture.App.GetEndpoint("api", "http"), "/"),
            ApiKey = PipelineAppFixture.ApiKey,
            Rate = 1000,
            Count = 60_000,
            Keys = 50,
            BatchSize = 100,
            Concurrency = 4,
            DuplicateRatio = 0.02,
            Verify = true,
            SettleTimeout = TimeSpan.FromMinutes(2),
            KeyPrefix = $"crash-{Guid.NewGuid():N}"[..14],
            Seed = 5,
        };
        var output = new StringWriter();
        var load = Task.Run(() => LoadCommand.RunAsync(options, output, TextWriter.Null, TimeProvider.System, CancellationToken.None));
        await using var database = NpgsqlDataSource.Create((await fixture.App.GetConnectionStringAsync("pipelinedb"))!);
        var stored = new StoredProgress(database, options.KeyPrefix);

        var killed = new List<int>();
        for (var kill = 0; kill < Kills; kill++)
        {
            // Each kill hits a service that is doing its work: the restarted one has stored again.
            await stored.WaitUntilItMovesAsync(load, logs);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var resource = resources[kill % resources.Length];
            killed.Add(await ServiceProcess.KillNineAsync(fixture.App, resource, Executables[resource]));
            await RestartAsync(resource);
        }

        var outcome = await load;

        Assert.Equal(Kills, killed.Distinct().Count());
        Assert.True(outcome.ExitCode == LoadCommand.Success, output + "\n" + logs);
        Assert.Equal(50, outcome.Verification!.KeysChecked);
    }

    // The orchestrator does not restart a process that died; an operator (here, the test) does.
    private async Task RestartAsync(string resource)
    {
        await fixture.App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates)
            .WaitAsync(TimeSpan.FromSeconds(30));
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var started = await commands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand);
        Assert.True(started.Success, started.Message);
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(2));
    }

    /// <summary>How far the load's all-time rows have got in PostgreSQL (the sum of their versions).</summary>
    private sealed class StoredProgress(NpgsqlDataSource database, string keyPrefix)
    {
        private static readonly TimeSpan MoveTimeout = TimeSpan.FromSeconds(90);
        private bool _started;

        /// <summary>Returns once rows are stored after the call (the first time: once any are), or the load has ended.</summary>
        public async Task WaitUntilItMovesAsync(Task load, ResourceLogTail logs)
        {
            var from = _started ? await ReadAsync() : 0;
            _started = true;
            var deadline = DateTime.UtcNow + MoveTimeout;
            while (!load.IsCompleted)
            {
                if (await ReadAsync() > from)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, $"Nothing was stored for {MoveTimeout.TotalSeconds} s after a restart.\n{logs}");
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
        }

        private async Task<long> ReadAsync()
        {
            await using var command = database.CreateCommand("SELECT coalesce(sum(version), 0)::bigint FROM aggregate_totals WHERE starts_with(key, @prefix)");
            command.Parameters.AddWithValue("prefix", keyPrefix + "-");
            return (long)(await command.ExecuteScalarAsync())!;
        }
    }
}
