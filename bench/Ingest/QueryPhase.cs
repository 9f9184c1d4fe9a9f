using System.Diagnostics;
using System.Net;
using Npgsql;
using NpgsqlTypes;

namespace Pipeline.Bench.Ingest;

/// <summary>
/// The query endpoints as the database grows: GET /api/keys (top 10 by count) and
/// GET /api/aggregates/{key}/windows (a random key's 1m windows) with 1k keys in the database,
/// then with more, each key holding its all-time totals and two windows (1m, 1h). Latencies are
/// the client's, over loopback, 4 requests in flight.
/// </summary>
internal static class QueryPhase
{
    private const int InFlight = 4;

    public static async Task FillAsync(string connectionString, int fromKey, int toKey)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var now = DateTime.UtcNow;
        var minute = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);
        var hour = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerHour, DateTimeKind.Utc);
        var random = new Random(fromKey);
        await using (var totals = await connection.BeginBinaryImportAsync(
            "COPY aggregate_totals (key, count, sum, min, max, mean, version, updated_at) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = fromKey; i < toKey; i++)
            {
                var count = random.Next(1, 10_000);
                await totals.StartRowAsync();
                await totals.WriteAsync(Key(i), NpgsqlDbType.Text);
                await totals.WriteAsync((long)count, NpgsqlDbType.Bigint);
                await totals.WriteAsync(count * 1.5, NpgsqlDbType.Double);
                await totals.WriteAsync(0.0, NpgsqlDbType.Double);
                await totals.WriteAsync(3.0, NpgsqlDbType.Double);
                await totals.WriteAsync(1.5, NpgsqlDbType.Double);
                await totals.WriteAsync((long)count, NpgsqlDbType.Bigint);
                await totals.WriteAsync(now.AddSeconds(-random.Next(86_400)), NpgsqlDbType.TimestampTz);
            }

            await totals.CompleteAsync();
        }

        await using (var windows = await connection.BeginBinaryImportAsync(
            "COPY window_aggregates (key, window_size, window_start, window_end, count, sum, min, max, mean, final, version, updated_at) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = fromKey; i < toKey; i++)
            {
                foreach (var (size, start, length) in new[] { ("1m", minute, TimeSpan.FromMinutes(1)), ("1h", hour, TimeSpan.FromHours(1)) })
                {
                    await windows.StartRowAsync();
                    await windows.WriteAsync(Key(i), NpgsqlDbType.Text);
                    await windows.WriteAsync(size, NpgsqlDbType.Text);
                    await windows.WriteAsync(start, NpgsqlDbType.TimestampTz);
                    await windows.WriteAsync(start + length, NpgsqlDbType.TimestampTz);
                    await windows.WriteAsync(2L, NpgsqlDbType.Bigint);
                    await windows.WriteAsync(3.0, NpgsqlDbType.Double);
                    await windows.WriteAsync(1.0, NpgsqlDbType.Double);
                    await windows.WriteAsync(2.0, NpgsqlDbType.Double);
                    await windows.WriteAsync(1.5, NpgsqlDbType.Double);
                    await windows.WriteAsync(false, NpgsqlDbType.Boolean);
                    await windows.WriteAsync(2L, NpgsqlDbType.Bigint);
                    await windows.WriteAsync(now, NpgsqlDbType.TimestampTz);
                }
            }

            await windows.CompleteAsync();
        }

        // What a database that has held these rows for a while looks like: vacuumed (the visibility
        // map lets GET /api/keys read its index alone), analyzed, and checkpointed. Without it the
        // measurement after a bulk load ran beside autovacuum and the load's checkpoint, and the
        // p99 with 1M keys doubled in one run (2026-12-03 07:33; bench/README.md).
        foreach (var step in (string[])["VACUUM ANALYZE aggregate_totals", "VACUUM ANALYZE window_aggregates", "CHECKPOINT"])
        {
            await using var command = new NpgsqlCommand(step, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Client latencies of <paramref name="requests"/> GETs of each path <paramref name="path"/> makes.</summary>
    public static async Task<Latencies> MeasureAsync(HttpClient http, Func<Random, string> path, int requests)
    {
        var latencies = new List<double>[InFlight];
        var next = -1;
        long failed = 0;
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            var random = new Random(worker);
            while (Interlocked.Increment(ref next) < requests)
            {
                var sent = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path(random));
                await response.Content.ReadAsByteArrayAsync();
                mine.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }));
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} of {requests} queries did not answer 200.");
        }

        return Latencies.Of(latencies.SelectMany(list => list).ToList())!;
    }

    public static string Key(int i) => $"sensor-{i:D7}";
}
