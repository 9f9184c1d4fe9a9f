namespace Pipeline.Tests.AppHost;

/// <summary>
/// How far a load's all-time rows have got in PostgreSQL (the sum of their versions): fault
/// tests wait for it to move, so that each fault hits a pipeline that is doing its work.
/// </summary>
internal sealed class StoredProgress : IAsyncDisposable
{
    private static readonly TimeSpan MoveTimeout = TimeSpan.FromSeconds(90);

    private readonly NpgsqlDataSource _database;
    private readonly string _keyPrefix;
    private bool _started;

    private StoredProgress(NpgsqlDataSource database, string keyPrefix)
    {
        _database = database;
        _keyPrefix = keyPrefix;
    }

    public static async Task<StoredProgress> StartAsync(DistributedApplication app, string keyPrefix) =>
        new(NpgsqlDataSource.Create((await app.GetConnectionStringAsync("pipelinedb"))!), keyPrefix);

    /// <summary>
    /// Returns once rows are stored after the call (the first time: once any are), or the load has
    /// ended. A stall fails with the services' last lines and the load generator's account of what
    /// the API answered it, so that a stall on CI says which stage held.
    /// </summary>
    public async Task WaitUntilItMovesAsync(VerifiedLoad load, ResourceLogTail logs)
    {
        var from = _started ? await ReadAsync() : 0;
        _started = true;
        var deadline = DateTime.UtcNow + MoveTimeout;
        while (!load.Outcome.IsCompleted)
        {
            if (await ReadAsync() > from)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Nothing was stored for {MoveTimeout.TotalSeconds} s.\n{load.FailureReport(logs)}");
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    public ValueTask DisposeAsync() => _database.DisposeAsync();

    private async Task<long> ReadAsync()
    {
        await using var command = _database.CreateCommand("SELECT coalesce(sum(version), 0)::bigint FROM aggregate_totals WHERE starts_with(key, @prefix)");
        command.Parameters.AddWithValue("prefix", _keyPrefix + "-");
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
