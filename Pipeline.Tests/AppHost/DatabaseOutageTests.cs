using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.LoadGenerator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// PostgreSQL taken down (fast shutdown, the dashboard's "Take database down") during a load and
/// started again: meanwhile the sink says it is failing and holds its records; afterwards every
/// aggregate equals the truth of what the API accepted, and the change stream is back.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class DatabaseOutageTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task AggregatesEqualTheTruthAfterTheDatabaseIsDownDuringALoad()
    {
        await using var logs = await ResourceLogTail.StartAsync(fixture.App, ["api", "stream-processor", "sink", "postgres"]);
        await using var load = VerifiedLoad.Start(fixture.App, "pgout", rate: 1000, count: 30_000, keys: 40, seed: 8);
        await using (var stored = await StoredProgress.StartAsync(fixture.App, load.Options.KeyPrefix))
        {
            await stored.WaitUntilItMovesAsync(load, logs);
        }

        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var down = await commands.ExecuteCommandAsync("postgres", LocalPostgresBuilderExtensions.TakeDownCommand);
        Assert.True(down.Success, down.Message);
        await fixture.App.ResourceNotifications.WaitForResourceAsync("postgres", KnownResourceStates.TerminalStates)
            .WaitAsync(TimeSpan.FromSeconds(30));

        // The sink's health check tells the operator that its writes fail (its records are held).
        await fixture.App.ResourceNotifications.WaitForResourceAsync("sink", e => e.Snapshot.HealthStatus == HealthStatus.Unhealthy)
            .WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(3));

        var up = await commands.ExecuteCommandAsync("postgres", KnownResourceCommands.StartCommand);
        Assert.True(up.Success, up.Message);
        foreach (var resource in new[] { "postgres", "sink", "api" })
        {
            // The API's health includes its change-stream listener, which reconnects too.
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(1));
        }

        var outcome = await load.Outcome;

        Assert.True(outcome.ExitCode == LoadCommand.Success, load.FailureReport(logs));
        Assert.Equal(40, outcome.Verification!.KeysChecked);
    }
}
