namespace Pipeline.Tests.AppHost;

[Collection(PipelineAppCollection.Name)]
public sealed class LocalModeTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task EveryResourceIsRunningAndHealthy()
    {
        var notifications = fixture.App.ResourceNotifications;
        string[] resources = ["kafka", "postgres", "pipelinedb", .. PipelineAppFixture.Services];
        foreach (var resource in resources)
        {
            var state = await notifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(1));
            Assert.Equal(KnownResourceStates.Running, state.Snapshot.State?.Text);
        }
    }

    [Fact]
    public async Task MigratorFinishesWithExitCodeZero()
    {
        var finished = await fixture.App.ResourceNotifications
            .WaitForResourceAsync("migrator", e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text))
            .WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(KnownResourceStates.Finished, finished.Snapshot.State?.Text);
        Assert.Equal(0, finished.Snapshot.ExitCode);
    }

    [Fact]
    public async Task PipelineDatabaseHoldsTheAggregateTables()
    {
        var connectionString = await fixture.App.GetConnectionStringAsync("pipelinedb");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", connection);
        var tables = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("aggregate_totals", tables);
        Assert.Contains("window_aggregates", tables);
        Assert.Equal("pipelinedb", connection.Database);
    }
}
