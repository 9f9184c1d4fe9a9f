using Npgsql;
using NpgsqlTypes;
using Pipeline.Contracts;

namespace Pipeline.Sink;

/// <summary>What one write changed.</summary>
internal readonly record struct AggregateWriteResult(int TotalsChanged, int WindowsChanged, int Stale)
{
    public int Changed => TotalsChanged + WindowsChanged;
}

/// <summary>Stores aggregate states; one call is one database transaction.</summary>
internal interface IAggregateWriter
{
    /// <summary>
    /// Stores the records atomically: when this returns, all of them are durable (or were older
    /// than what was stored); when it throws, none of them was written.
    /// </summary>
    Task<AggregateWriteResult> WriteAsync(IReadOnlyCollection<AggregateRecord> records, CancellationToken cancellationToken);
}

/// <summary>
/// Upserts aggregate states into <c>aggregate_totals</c> and <c>window_aggregates</c>: one
/// transaction per batch, one statement per table, the rows passed as arrays and expanded
/// with <c>unnest</c>. A row is only replaced by a higher version, so replays, duplicates and
/// reordering never move a figure backwards. The same statement announces the rows it changed
/// with <c>pg_notify</c>, a few dozen per notification, so a batch costs two round trips: the
/// statements, and the commit.
/// </summary>
internal sealed class PostgresAggregateWriter(NpgsqlDataSource dataSource, bool announceChanges = true) : IAggregateWriter
{
    // RETURNING yields only the rows inserted or updated, not those the WHERE refused: exactly
    // the changes to count and announce.
    private const string InsertTotals = """
        INSERT INTO aggregate_totals AS target (key, count, sum, min, max, mean, version, updated_at)
        SELECT * FROM unnest(
            @key::text[], @count::bigint[], @sum::float8[], @min::float8[], @max::float8[], @mean::float8[],
            @version::bigint[], @updated_at::timestamptz[])
        ON CONFLICT (key) DO UPDATE SET
            count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, mean = EXCLUDED.mean,
            version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, written_at = now()
        WHERE target.version < EXCLUDED.version
        RETURNING target.key
        """;

    private const string InsertWindows = """
        INSERT INTO window_aggregates AS target
            (key, window_size, window_start, window_end, count, sum, min, max, mean, final, version, updated_at)
        SELECT * FROM unnest(
            @key::text[], @window_size::text[], @window_start::timestamptz[], @window_end::timestamptz[],
            @count::bigint[], @sum::float8[], @min::float8[], @max::float8[], @mean::float8[],
            @final::boolean[], @version::bigint[], @updated_at::timestamptz[])
        ON CONFLICT (key, window_size, window_start) DO UPDATE SET
            window_end = EXCLUDED.window_end, count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min,
            max = EXCLUDED.max, mean = EXCLUDED.mean, final = EXCLUDED.final, version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at, written_at = now()
        WHERE target.version < EXCLUDED.version
        RETURNING target.key, target.window_size, target.window_start
        """;

    private static readonly string UpsertTotals = Upsert(InsertTotals, "@key::text[]", "key");
    private static readonly string UpsertWindows = Upsert(InsertWindows, "@key::text[], @window_size::text[], @window_start::timestamptz[]", "key, window_size, window_start");
    private static readonly string UpsertTotalsQuietly = UpsertWithoutAnnouncing(InsertTotals);
    private static readonly string UpsertWindowsQuietly = UpsertWithoutAnnouncing(InsertWindows);

    /// <summary>
    /// The upsert, counting the rows it changed and announcing them: every record's JSON and
    /// payload number come with the batch (<see cref="AggregateChangeNotifications.Pack"/>), and
    /// the changed rows' items are joined into their payloads. pg_notify's messages are delivered
    /// when, and only if, the transaction commits.
    /// </summary>
    private static string Upsert(string insert, string identities, string identityColumns) => $"""
        WITH changed AS (
        {insert}
        ), announced AS (
            SELECT pg_notify(@channel, '[' || string_agg(item.json, ',' ORDER BY item.n) || ']') AS sent
            FROM unnest({identities}, @items::text[], @payloads::int[]) WITH ORDINALITY AS item({identityColumns}, json, payload, n)
            JOIN changed USING ({identityColumns})
            GROUP BY item.payload
        )
        SELECT (SELECT count(*) FROM changed), (SELECT count(sent) FROM announced)
        """;

    private static string UpsertWithoutAnnouncing(string insert) => $"""
        WITH changed AS (
        {insert}
        )
        SELECT count(*) FROM changed
        """;

    public async Task<AggregateWriteResult> WriteAsync(IReadOnlyCollection<AggregateRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return default;
        }

        var (totals, windows) = LatestStates(records);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (totals.Count > 0)
        {
            batch.BatchCommands.Add(TotalsCommand(totals));
        }

        if (windows.Count > 0)
        {
            batch.BatchCommands.Add(WindowsCommand(windows));
        }

        var totalsChanged = 0;
        var windowsChanged = 0;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            if (totals.Count > 0)
            {
                totalsChanged = await ChangedAsync(reader, cancellationToken);
                await reader.NextResultAsync(cancellationToken);
            }

            if (windows.Count > 0)
            {
                windowsChanged = await ChangedAsync(reader, cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new AggregateWriteResult(totalsChanged, windowsChanged, records.Count - totalsChanged - windowsChanged);
    }

    private static async Task<int> ChangedAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        await reader.ReadAsync(cancellationToken);
        return (int)reader.GetInt64(0);
    }

    /// <summary>
    /// The highest version of each aggregate in the batch, split by table and ordered by primary
    /// key. One INSERT cannot touch the same row twice, and a fixed order keeps two writers from
    /// deadlocking on rows they share.
    /// </summary>
    internal static (List<AggregateRecord> Totals, List<AggregateRecord> Windows) LatestStates(IEnumerable<AggregateRecord> records)
    {
        var latest = new Dictionary<AggregateId, AggregateRecord>();
        foreach (var record in records)
        {
            var id = record.Window == WindowNames.AllTime ? new AggregateId(record.Key, WindowNames.AllTime, WindowNames.AllTimeStart) : record.Id;
            if (!latest.TryGetValue(id, out var held) || held.Version < record.Version)
            {
                latest[id] = record;
            }
        }

        var totals = new List<AggregateRecord>();
        var windows = new List<AggregateRecord>();
        foreach (var record in latest.Values)
        {
            (record.Window == WindowNames.AllTime ? totals : windows).Add(record);
        }

        totals.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        windows.Sort(static (a, b) =>
        {
            var byKey = string.CompareOrdinal(a.Key, b.Key);
            if (byKey != 0)
            {
                return byKey;
            }

            var bySize = string.CompareOrdinal(a.Window, b.Window);
            return bySize != 0 ? bySize : a.WindowStart.CompareTo(b.WindowStart);
        });
        return (totals, windows);
    }

    private NpgsqlBatchCommand TotalsCommand(List<AggregateRecord> rows)
    {
        var command = Command(announceChanges ? UpsertTotals : UpsertTotalsQuietly, rows);
        command.Parameters.Add(Array("key", NpgsqlDbType.Text, rows, r => r.Key));
        command.Parameters.Add(Array("count", NpgsqlDbType.Bigint, rows, r => r.Count));
        command.Parameters.Add(Array("sum", NpgsqlDbType.Double, rows, r => r.Sum));
        command.Parameters.Add(Array("min", NpgsqlDbType.Double, rows, r => r.Min));
        command.Parameters.Add(Array("max", NpgsqlDbType.Double, rows, r => r.Max));
        command.Parameters.Add(Array("mean", NpgsqlDbType.Double, rows, r => r.Mean));
        command.Parameters.Add(Array("version", NpgsqlDbType.Bigint, rows, r => r.Version));
        command.Parameters.Add(Array("updated_at", NpgsqlDbType.TimestampTz, rows, r => r.UpdatedAt.UtcDateTime));
        return command;
    }

    private NpgsqlBatchCommand WindowsCommand(List<AggregateRecord> rows)
    {
        var command = Command(announceChanges ? UpsertWindows : UpsertWindowsQuietly, rows);
        command.Parameters.Add(Array("key", NpgsqlDbType.Text, rows, r => r.Key));
        command.Parameters.Add(Array("window_size", NpgsqlDbType.Text, rows, r => r.Window));
        command.Parameters.Add(Array("window_start", NpgsqlDbType.TimestampTz, rows, r => r.WindowStart.UtcDateTime));
        command.Parameters.Add(Array("window_end", NpgsqlDbType.TimestampTz, rows, r => r.WindowEnd!.Value.UtcDateTime));
        command.Parameters.Add(Array("count", NpgsqlDbType.Bigint, rows, r => r.Count));
        command.Parameters.Add(Array("sum", NpgsqlDbType.Double, rows, r => r.Sum));
        command.Parameters.Add(Array("min", NpgsqlDbType.Double, rows, r => r.Min));
        command.Parameters.Add(Array("max", NpgsqlDbType.Double, rows, r => r.Max));
        command.Parameters.Add(Array("mean", NpgsqlDbType.Double, rows, r => r.Mean));
        command.Parameters.Add(Array("final", NpgsqlDbType.Boolean, rows, r => r.Final));
        command.Parameters.Add(Array("version", NpgsqlDbType.Bigint, rows, r => r.Version));
        command.Parameters.Add(Array("updated_at", NpgsqlDbType.TimestampTz, rows, r => r.UpdatedAt.UtcDateTime));
        return command;
    }

    /// <summary>A statement with, when it announces, the rows' notification items.</summary>
    private NpgsqlBatchCommand Command(string sql, List<AggregateRecord> rows)
    {
        var command = new NpgsqlBatchCommand(sql);
        if (announceChanges)
        {
            var packed = AggregateChangeNotifications.Pack(rows);
            command.Parameters.Add(new NpgsqlParameter<string>("channel", NpgsqlDbType.Text) { TypedValue = AggregateChangeNotifications.Channel });
            command.Parameters.Add(new NpgsqlParameter<string[]>("items", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = packed.Items });
            command.Parameters.Add(new NpgsqlParameter<int[]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = packed.Payloads });
        }

        return command;
    }

    private static NpgsqlParameter<T[]> Array<T>(string name, NpgsqlDbType elementType, List<AggregateRecord> rows, Func<AggregateRecord, T> select)
    {
        var values = new T[rows.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = select(rows[i]);
        }

        return new NpgsqlParameter<T[]>(name, NpgsqlDbType.Array | elementType) { TypedValue = values };
    }
}
