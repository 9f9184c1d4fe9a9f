using Pipeline.LoadGenerator;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The load generator's --verify through the whole pipeline in local mode: it passes on a
/// clean run, and it notices when one stored figure is wrong.
/// </summary>
[Collection(PipelineAppCollection.Name)]
public sealed class CorrectnessOracleTests(PipelineAppFixture fixture)
{
    [Fact]
    public async Task CleanRunWithDuplicatesAndLateEventsVerifiesAndATamperedAggregateIsCaught()
    {
        var options = new LoadOptions
        {
            Api = new Uri(fixture.App.GetEndpoint("api", "http"), "/"),
            ApiKey = PipelineAppFixture.ApiKey,
            Rate = 1000,
            Count = 3000,
            Keys = 20,
            BatchSize = 50,
            Concurrency = 4,
            DuplicateRatio = 0.02,
            LateRatio = 0.02,
            Verify = true,
            SettleTimeout = TimeSpan.FromSeconds(90),
            KeyPrefix = $"oracle-{Guid.NewGuid():N}"[..15],
            Seed = 11,
        };
        var output = new StringWriter();

        var clean = await LoadCommand.RunAsync(options, output, TextWriter.Null, TimeProvider.System, CancellationToken.None);

        Assert.True(clean.ExitCode == LoadCommand.Success, output.ToString());
        Assert.Equal(20, clean.Verification!.KeysChecked);
        Assert.True(clean.Verification.WindowsChecked >= 20);

        // A wrong count on one all-time row, with a version so high the sink never replaces it.
        var tamperedKey = clean.Truth.Totals.Keys.Order(StringComparer.Ordinal).First();
        await using (var database = NpgsqlDataSource.Create((await fixture.App.GetConnectionStringAsync("pipelinedb"))!))
        await using (var tamper = database.CreateCommand("UPDATE aggregate_totals SET count = count + 1, version = @version WHERE key = @key"))
        {
            tamper.Parameters.AddWithValue("version", long.MaxValue);
            tamper.Parameters.AddWithValue("key", tamperedKey);
            Assert.Equal(1, await tamper.ExecuteNonQueryAsync());
        }

        using var http = IngestClient.CreateHttpClient(options.Api, options.ApiKey, concurrency: 1);
        var recheck = await new Verifier(http, clean.Truth, TimeSpan.FromSeconds(2), TimeProvider.System)
            .VerifyAsync(_ => { }, CancellationToken.None);

        Assert.False(recheck.Passed);
        var mismatch = Assert.Single(recheck.Mismatches);
        Assert.Equal((tamperedKey, "all", "count"), (mismatch.Key, mismatch.Window, mismatch.Field));
        Assert.Equal((clean.Truth.Totals[tamperedKey].Count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), mismatch.Actual);
    }
}
