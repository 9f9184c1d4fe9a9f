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
/// reordering never move a figure backwards. The rows that changed are announced with
/// <c>pg_notify</c> in the same transaction, a few dozen per notification.
/// </summary>
internal sealed class PostgresAggregateWriter(NpgsqlDataSource dataSource, bool announceChanges = true) : IAggregateWriter
{

    // RETURNING yields only the rows inserted or updated, not those the WHERE refused: exactly
    // the changes to announce. Their identities come back; the figures are the batch's own.
    private const string UpsertTotals = """
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

    private const string UpsertWindows = """
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

    // Delivered by PostgreSQL when (and only if) the transaction commits.
    private const string Notify = """
        SELECT pg_notify(@channel, payload) FROM unnest(@payloads::text[]) AS payload
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

        var changed = new List<AggregateRecord>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            if (totals.Count > 0)
            {
                var byKey = totals.ToDictionary(record => record.Key, StringComparer.Ordinal);
                while (await reader.ReadAsync(cancellationToken))
                {
                    changed.Add(byKey[reader.GetString(0)]);
                }

                await reader.NextResultAsync(cancellationToken);
            }

            if (windows.Count > 0)
            {
                var byId = windows.ToDictionary(record => record.Id);
                while (await reader.ReadAsync(cancellationToken))
                {
                    changed.Add(byId[new AggregateId(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2))]);
                }
            }
        }

        if (changed.Count > 0 && announceChanges)
        {
            await using var notify = new NpgsqlCommand(Notify, connection, transaction);
            notify.Parameters.Add(new NpgsqlParameter<string>("channel", NpgsqlDbType.Text) { TypedValue = AggregateChangeNotifications.Channel });
            notify.Parameters.Add(new NpgsqlParameter<string[]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text)
            {
                TypedValue = AggregateChangeNotifications.Payloads(changed),
            });
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);

        var totalsChanged = changed.Count(record => record.Window == WindowNames.AllTime);
        var windowsChanged = changed.Count - totalsChanged;
        return new AggregateWriteResult(totalsChanged, windowsChanged, records.Count - changed.Count);
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

    private static NpgsqlBatchCommand TotalsCommand(List<AggregateRecord> rows)
    {
        var command = new NpgsqlBatchCommand(UpsertTotals);
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

    private static NpgsqlBatchCommand WindowsCommand(List<AggregateRecord> rows)
    {
        var command = new NpgsqlBatchCommand(UpsertWindows);
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
