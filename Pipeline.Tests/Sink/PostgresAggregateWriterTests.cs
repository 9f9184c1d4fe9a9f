using Pipeline.Sink;
using static Pipeline.Tests.Sink.Aggregates;

namespace Pipeline.Tests.Sink;

public sealed class PostgresAggregateWriterTests(SinkDatabase database) : IClassFixture<SinkDatabase>
{
    private PostgresAggregateWriter Writer => new(database.DataSource);

    [Fact]
    public async Task AllTimeStatesGoToTotalsAndWindowsToWindowAggregatesWithEveryFigure()
    {
        var totals = Totals("route-a", 3);
        var minute = Window("route-a", 0, 4);
        var hour = Window("route-a", 0, 5, "1h");

        var result = await Writer.WriteAsync([totals, minute, hour], default);

        Assert.Equal(new AggregateWriteResult(1, 2, 0), result);
        Assert.Equal(totals, await database.ReadTotalsAsync("route-a"));
        Assert.Equal([hour, minute], await database.ReadWindowsAsync("route-a"));
    }

    [Fact]
    public async Task OutOfOrderVersionsNeverMoveARowBackwards()
    {
        var versions = new long[] { 5, 2, 9, 1, 7, 3, 8 };

        foreach (var version in versions)
        {
            await Writer.WriteAsync([Totals("order-a", version), Window("order-a", 0, version)], default);
        }

        Assert.Equal(Totals("order-a", 9), await database.ReadTotalsAsync("order-a"));
        Assert.Equal([Window("order-a", 0, 9)], await database.ReadWindowsAsync("order-a"));
    }

    [Fact]
    public async Task DuplicatesAndSeveralVersionsInOneBatchKeepTheHighestVersion()
    {
        var batch = new[]
        {
            Window("dup-a", 0, 4), Window("dup-a", 0, 6), Window("dup-a", 0, 6), Window("dup-a", 0, 5),
            Totals("dup-a", 2), Totals("dup-a", 2), Totals("dup-a", 1),
            Window("dup-a", 1, 1),
        };

        var result = await Writer.WriteAsync(batch, default);

        Assert.Equal(new AggregateWriteResult(1, 2, batch.Length - 3), result);
        Assert.Equal(Truth(batch), await database.ReadAllAsync("dup-a"));
    }

    [Fact]
    public async Task ReplayingABatchChangesNothingAndCountsEveryRecordAsStale()
    {
        var batch = new[] { Totals("replay-a", 4), Window("replay-a", 0, 4), Window("replay-a", 1, 2) };
        await Writer.WriteAsync(batch, default);
        var writtenAt = await WrittenAtAsync("replay-a");

        var replay = await Writer.WriteAsync(batch, default);

        Assert.Equal(new AggregateWriteResult(0, 0, 3), replay);
        Assert.Equal(Truth(batch), await database.ReadAllAsync("replay-a"));
        Assert.Equal(writtenAt, await WrittenAtAsync("replay-a"));
    }

    [Fact]
    public async Task ABatchCutOffByACrashInsideItsTransactionLeavesNoTraceAndIsWrittenWholeOnRetry()
    {
        var before = new[] { Totals("crash-a", 1), Window("crash-a", 0, 1) };
        await Writer.WriteAsync(before, default);
        // The window statement runs after the totals statement, in the same transaction; its trigger
        // kills the session once, as a kill -9 of the sink would in the middle of a batch.
        await ExecuteAsync("""
            CREATE SEQUENCE crash_once;
            CREATE FUNCTION crash_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.key = 'crash-a' AND nextval('crash_once') = 1 THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER crash_once BEFORE INSERT OR UPDATE ON window_aggregates FOR EACH ROW EXECUTE FUNCTION crash_once();
            """);
        var batch = new[] { Totals("crash-a", 2), Window("crash-a", 0, 2), Window("crash-a", 1, 2) };
        try
        {
            var crash = await Assert.ThrowsAnyAsync<NpgsqlException>(() => Writer.WriteAsync(batch, default));
            // Not a complaint about the data: the worker retries the batch instead of dead-lettering it.
            Assert.False(crash is PostgresException { SqlState: ['2', '1' or '2' or '3', ..] or ['5', '4', ..] });
            Assert.Equal(Truth(before), await database.ReadAllAsync("crash-a"));

            var retry = await Writer.WriteAsync(batch, default);

            Assert.Equal(3, retry.Changed);
            Assert.Equal(Truth([.. before, .. batch]), await database.ReadAllAsync("crash-a"));
        }
        finally
        {
            await ExecuteAsync("DROP TRIGGER crash_once ON window_aggregates; DROP FUNCTION crash_once(); DROP SEQUENCE crash_once;");
        }
    }

    [Fact]
    public async Task EveryChangedRowIsAnnouncedOnCommitAndUnchangedRowsAreNot()
    {
        await using var listener = await database.DataSource.OpenConnectionAsync();
        var payloads = new List<string>();
        listener.Notification += (_, notification) => payloads.Add(notification.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {AggregateChangeNotifications.Channel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        await Writer.WriteAsync([Totals("notify-a", 2), Window("notify-a", 3, 2)], default);
        await Writer.WriteAsync([Totals("notify-a", 1)], default);
        while (payloads.Count < 2 && await listener.WaitAsync(TimeSpan.FromSeconds(5)))
        {
        }

        await listener.WaitAsync(TimeSpan.FromMilliseconds(300));
        var changes = payloads.SelectMany(AggregateChangeNotifications.Read).ToList();
        Assert.Equal(2, changes.Count);
        Assert.Contains(Totals("notify-a", 2), changes);
        Assert.Contains(Window("notify-a", 3, 2), changes);
    }

    [Fact]
    public async Task ManyChangesArePackedIntoPayloadsPostgresAcceptsWithNothingLeftOut()
    {
        var changes = Enumerable.Range(0, 300).Select(i => Totals($"pack-{i}-" + new string('\u0001', i), i)).ToList();

        var payloads = AggregateChangeNotifications.Payloads(changes);

        Assert.InRange(payloads.Length, 2, 300);
        Assert.All(payloads, payload => Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(payload), 1, AggregateChangeNotifications.MaxPayloadBytes));
        Assert.Equal(changes, payloads.SelectMany(AggregateChangeNotifications.Read));
        await using var connection = await database.DataSource.OpenConnectionAsync();
        foreach (var payload in payloads)
        {
            await using var notify = new NpgsqlCommand("SELECT pg_notify('pack_test', @payload)", connection);
            notify.Parameters.AddWithValue("payload", payload);
            await notify.ExecuteNonQueryAsync();
        }
    }

    private async Task<List<DateTime>> WrittenAtAsync(string key)
    {
        await using var command = database.DataSource.CreateCommand(
            "SELECT written_at FROM aggregate_totals WHERE key = @key UNION ALL SELECT written_at FROM window_aggregates WHERE key = @key ORDER BY 1");
        command.Parameters.AddWithValue("key", key);
        var values = new List<DateTime>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetDateTime(0));
        }

        return values;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
