using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Pipeline.Bench;
using Pipeline.Contracts;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Migrator;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.Sink;

// Sink benchmark: rows per second stored by the sink's upsert against a one-statement-per-row
// loop, COPY into a staging table plus a merge, and plain COPY; then how soon a record on the
// aggregates topic is committed in PostgreSQL under a steady load. Not a test: figures only.
// Usage: dotnet run -c Release --project bench/Sink [-- --records 100000 --repeats 3 --json figures.json]
var records = Argument("--records", 100_000);
var naiveRecords = Argument("--naive-records", 20_000);
var repeats = Argument("--repeats", 3);
var batchSize = Argument("--batch", 1000);

Console.WriteLine($"Sink upsert benchmark: {records} records per run ({naiveRecords} for the per-row loop), batches of {batchSize}, median of {repeats} runs.");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; load average at start: {File.ReadAllText("/proc/loadavg").Trim()}.");
await using var postgres = await LocalPostgresServer.StartAsync();
await postgres.CreateDatabaseAsync("pipelinedb");
var connectionString = postgres.ConnectionString("pipelinedb");
DatabaseMigrations.Apply(connectionString, NullLogger.Instance);
await using var dataSource = NpgsqlDataSource.Create(connectionString);
var serverVersion = await ScalarAsync<string>(dataSource, "SHOW server_version");
Console.WriteLine($"PostgreSQL: {serverVersion}, synchronous_commit={await ScalarAsync<string>(dataSource, "SHOW synchronous_commit")}, fsync={await ScalarAsync<string>(dataSource, "SHOW fsync")}.");
var figures = new BenchmarkResult("sink");
figures.Describe("postgresql", serverVersion);
var freshRate = Argument("--fresh-rate", 500);
var freshFor = TimeSpan.FromSeconds(Argument("--fresh-seconds", 10));

if (args.Contains("--freshness-only"))
{
    var fetchWait = Argument("--fetch-wait", 500);
    var alone = await Freshness.MeasureAsync(dataSource, freshRate, freshFor, fetchWaitMaxMs: fetchWait);
    if (alone is not null)
    {
        figures.Add($"sink freshness, p50 ({freshRate}/s, fetch wait {fetchWait} ms)", alone.P50, "ms");
        figures.Add($"sink freshness, p99 ({freshRate}/s, fetch wait {fetchWait} ms)", alone.P99, "ms");
    }

    figures.WriteIfRequested(args, alone is { Complete: true });
    return 0;
}

// The migrations leave a fifth of each window_aggregates page free for updates (0002). The sink
// ran on PostgreSQL's default fillfactor (100) before: one strategy keeps measuring that, with the
// same writer on a second database, migrated alike and then set back to the default.
const string Sink = "sink: unnest upsert + pg_notify";
const string OnDefaultFillfactor = "sink, table at fillfactor 100";
await postgres.CreateDatabaseAsync("packed");
DatabaseMigrations.Apply(postgres.ConnectionString("packed"), NullLogger.Instance);
await using var packedDataSource = NpgsqlDataSource.Create(postgres.ConnectionString("packed"));
await ExecuteAsync(packedDataSource, "ALTER TABLE window_aggregates RESET (fillfactor)");
const string Fillfactor = "SELECT coalesce((SELECT option_value FROM pg_options_to_table((SELECT reloptions FROM pg_class WHERE relname = 'window_aggregates')) WHERE option_name = 'fillfactor'), '100')";
Console.WriteLine($"window_aggregates: fillfactor {await ScalarAsync<string>(dataSource, Fillfactor)} after the migrations, {await ScalarAsync<string>(packedDataSource, Fillfactor)} in the second database.");

var sinkWriter = new PostgresAggregateWriter(dataSource);
var packedSinkWriter = new PostgresAggregateWriter(packedDataSource);
var strategies = new Dictionary<string, Func<IReadOnlyList<AggregateRecord>, Task>>
{
    [Sink] = batch => sinkWriter.WriteAsync(batch, default),
    [OnDefaultFillfactor] = batch => packedSinkWriter.WriteAsync(batch, default),
    ["unnest upsert, no notify"] = batch => Strategies.UnnestWithoutNotifyAsync(dataSource, batch),
    ["COPY to staging + merge"] = batch => Strategies.CopyAndMergeAsync(dataSource, batch),
    ["one statement per row"] = batch => Strategies.RowByRowAsync(dataSource, batch),
    ["plain COPY (insert only)"] = batch => Strategies.PlainCopyAsync(dataSource, batch),
};

var workloads = new (string Name, List<AggregateRecord> States, string Description)[]
{
    ("insert", Workloads.DistinctWindows(records), $"{records} new windows (every record inserts a row)"),
    ("upsert", Workloads.Versions(records, versions: 10), $"{records / 10} windows x 10 versions, in version order (10% inserts, 90% updates)"),
};

// Runs are interleaved (every strategy once, then again) so that a change of load on the machine
// during the benchmark hits every strategy alike; each figure is the median of its runs.
var results = new List<(string Workload, string Strategy, double RowsPerSecond)>();
var tableBytes = new Dictionary<(string Workload, string Strategy), long>();
foreach (var (name, states, description) in workloads)
{
    Console.WriteLine();
    Console.WriteLine($"Workload '{name}': {description}.");
    var applicable = strategies.Where(s => !(name == "upsert" && s.Key.StartsWith("plain COPY", StringComparison.Ordinal))).ToList();
    var runs = applicable.ToDictionary(s => s.Key, _ => new List<double>());
    for (var run = 0; run < repeats; run++)
    {
        foreach (var (strategy, write) in applicable)
        {
            var subset = strategy == "one statement per row" ? states.Take(naiveRecords).ToList() : states;
            var database = strategy == OnDefaultFillfactor ? packedDataSource : dataSource;
            await ExecuteAsync(database, "TRUNCATE window_aggregates");
            await ExecuteAsync(database, "VACUUM ANALYZE window_aggregates");
            var elapsed = await TimeAsync(subset, batchSize, write);
            runs[strategy].Add(subset.Count / elapsed.TotalSeconds);
            tableBytes[(name, strategy)] = await ScalarAsync<long>(database, "SELECT pg_total_relation_size('window_aggregates')");
        }
    }

    foreach (var (strategy, rates) in runs)
    {
        rates.Sort();
        var median = rates[rates.Count / 2];
        results.Add((name, strategy, median));
        Console.WriteLine($"  {strategy,-34} {median,10:N0} rows/s   (runs: {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}); table and indexes after the last: {tableBytes[(name, strategy)] / 1024.0 / 1024.0:N1} MiB");
    }
}

Console.WriteLine();
Console.WriteLine("Ratios (sink = unnest upsert + pg_notify):");
foreach (var workload in results.Select(r => r.Workload).Distinct())
{
    var sink = results.Single(r => r.Workload == workload && r.Strategy == Sink).RowsPerSecond;
    foreach (var (_, strategy, rate) in results.Where(r => r.Workload == workload && r.Strategy != Sink))
    {
        Console.WriteLine($"  {workload}: sink / {strategy} = {sink / rate:N2}");
    }
}

Console.WriteLine();
Console.WriteLine("Batch size, sink upsert, workload 'upsert' (interleaved runs, median):");
var sizes = new[] { 100, 500, 1000, 5000 };
var bySize = sizes.ToDictionary(size => size, _ => new List<double>());
for (var run = 0; run < repeats; run++)
{
    foreach (var size in sizes)
    {
        await ExecuteAsync(dataSource, "TRUNCATE window_aggregates");
        await ExecuteAsync(dataSource, "VACUUM ANALYZE window_aggregates");
        var elapsed = await TimeAsync(workloads[1].States, size, batch => sinkWriter.WriteAsync(batch, default));
        bySize[size].Add(workloads[1].States.Count / elapsed.TotalSeconds);
    }
}

foreach (var (size, rates) in bySize)
{
    rates.Sort();
    Console.WriteLine($"  batch {size,5}: {rates[rates.Count / 2],10:N0} rows/s");
}

var defaultWait = await Freshness.MeasureAsync(dataSource, freshRate, freshFor, fetchWaitMaxMs: 500);
var shortWait = await Freshness.MeasureAsync(dataSource, freshRate, freshFor, fetchWaitMaxMs: 10);

// For bench/run: the sink's writer against the alternatives it was chosen over, and how fresh its rows are.
double Rate(string workload, string strategy) => results.Single(r => r.Workload == workload && r.Strategy == strategy).RowsPerSecond;
var ofRuns = $"median of {repeats}";
foreach (var (workload, label) in new[] { ("insert", "inserts"), ("upsert", "90 % updates") })
{
    var sinkRate = Rate(workload, Sink);
    figures.Add($"sink upsert, {label} ({ofRuns})", sinkRate, "rows/s", "one statement per row", Rate(workload, "one statement per row"));
    figures.Add($"sink upsert, {label} ({ofRuns})", sinkRate, "rows/s", "COPY to staging + merge", Rate(workload, "COPY to staging + merge"));
    figures.Add($"sink upsert, {label} ({ofRuns})", sinkRate, "rows/s", "the same on a table at fillfactor 100 (before migration 0002)", Rate(workload, OnDefaultFillfactor));
    figures.Add($"window_aggregates size after the {label} workload (table and indexes)", tableBytes[(workload, Sink)] / 1024.0 / 1024.0, "MiB",
        "the same at fillfactor 100", tableBytes[(workload, OnDefaultFillfactor)] / 1024.0 / 1024.0);
    if (workload == "insert")
    {
        figures.Add($"sink upsert, {label} ({ofRuns})", sinkRate, "rows/s", "plain COPY (insert only)", Rate(workload, "plain COPY (insert only)"));
    }
}

if (defaultWait is not null && shortWait is not null)
{
    figures.Add($"sink freshness, p50 ({freshRate}/s, fetch wait 10 ms)", shortWait.P50, "ms", "fetch wait 500 ms (librdkafka default)", defaultWait.P50);
    figures.Add($"sink freshness, p99 ({freshRate}/s, fetch wait 10 ms)", shortWait.P99, "ms", "fetch wait 500 ms (librdkafka default)", defaultWait.P99);
}

figures.WriteIfRequested(args, defaultWait is { Complete: true } && shortWait is { Complete: true });
return 0;

static async Task<TimeSpan> TimeAsync(List<AggregateRecord> states, int batchSize, Func<IReadOnlyList<AggregateRecord>, Task> write)
{
    var started = Stopwatch.GetTimestamp();
    foreach (var batch in states.Chunk(batchSize))
    {
        await write(batch);
    }

    return Stopwatch.GetElapsedTime(started);
}

static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
{
    await using var command = dataSource.CreateCommand(sql);
    await command.ExecuteNonQueryAsync();
}

static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql)
{
    await using var command = dataSource.CreateCommand(sql);
    return (T)(await command.ExecuteScalarAsync())!;
}

int Argument(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

internal static class Workloads
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<AggregateRecord> DistinctWindows(int count) =>
        Enumerable.Range(0, count).Select(i => Window($"key-{i / 20:D6}", i % 20, 1)).ToList();

    public static List<AggregateRecord> Versions(int count, int versions) =>
        Enumerable.Range(1, versions)
            .SelectMany(v => Enumerable.Range(0, count / versions).Select(i => Window($"key-{i / 20:D6}", i % 20, v)))
            .ToList();

    private static AggregateRecord Window(string key, int minute, long version)
    {
        var start = Start.AddMinutes(minute);
        return new AggregateRecord(key, "1m", start, start.AddMinutes(1), version, version * 1.5, 1, version, 1.5, false, version, start.AddSeconds(version));
    }
}

/// <summary>The alternatives the sink's statement is measured against; each batch is one transaction.</summary>
internal static class Strategies
{
    private const string Columns = "key, window_size, window_start, window_end, count, sum, min, max, mean, final, version, updated_at";

    private const string UpdateWhenNewer = """
        ON CONFLICT (key, window_size, window_start) DO UPDATE SET
            window_end = EXCLUDED.window_end, count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min,
            max = EXCLUDED.max, mean = EXCLUDED.mean, final = EXCLUDED.final, version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at, written_at = now()
        WHERE target.version < EXCLUDED.version
        """;

    /// <summary>What a JDBC-style sink does: the same monotonic upsert, one statement (one round trip) per record.</summary>
    public static async Task RowByRowAsync(NpgsqlDataSource dataSource, IReadOnlyList<AggregateRecord> batch)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            $"INSERT INTO window_aggregates AS target ({Columns}) VALUES (@key, @size, @start, @end, @count, @sum, @min, @max, @mean, @final, @version, @updated) {UpdateWhenNewer}",
            connection, transaction);
        var key = command.Parameters.Add(new NpgsqlParameter<string>("key", NpgsqlDbType.Text));
        var size = command.Parameters.Add(new NpgsqlParameter<string>("size", NpgsqlDbType.Text));
        var start = command.Parameters.Add(new NpgsqlParameter<DateTime>("start", NpgsqlDbType.TimestampTz));
        var end = command.Parameters.Add(new NpgsqlParameter<DateTime>("end", NpgsqlDbType.TimestampTz));
        var count = command.Parameters.Add(new NpgsqlParameter<long>("count", NpgsqlDbType.Bigint));
        var sum = command.Parameters.Add(new NpgsqlParameter<double>("sum", NpgsqlDbType.Double));
        var min = command.Parameters.Add(new NpgsqlParameter<double>("min", NpgsqlDbType.Double));
        var max = command.Parameters.Add(new NpgsqlParameter<double>("max", NpgsqlDbType.Double));
        var mean = command.Parameters.Add(new NpgsqlParameter<double>("mean", NpgsqlDbType.Double));
        var final = command.Parameters.Add(new NpgsqlParameter<bool>("final", NpgsqlDbType.Boolean));
        var version = command.Parameters.Add(new NpgsqlParameter<long>("version", NpgsqlDbType.Bigint));
        var updated = command.Parameters.Add(new NpgsqlParameter<DateTime>("updated", NpgsqlDbType.TimestampTz));
        await command.PrepareAsync();
        foreach (var r in batch)
        {
            ((NpgsqlParameter<string>)key).TypedValue = r.Key;
            ((NpgsqlParameter<string>)size).TypedValue = r.Window;
            ((NpgsqlParameter<DateTime>)start).TypedValue = r.WindowStart.UtcDateTime;
            ((NpgsqlParameter<DateTime>)end).TypedValue = r.WindowEnd!.Value.UtcDateTime;
            ((NpgsqlParameter<long>)count).TypedValue = r.Count;
            ((NpgsqlParameter<double>)sum).TypedValue = r.Sum;
            ((NpgsqlParameter<double>)min).TypedValue = r.Min;
            ((NpgsqlParameter<double>)max).TypedValue = r.Max;
            ((NpgsqlParameter<double>)mean).TypedValue = r.Mean;
            ((NpgsqlParameter<bool>)final).TypedValue = r.Final;
            ((NpgsqlParameter<long>)version).TypedValue = r.Version;
            ((NpgsqlParameter<DateTime>)updated).TypedValue = r.UpdatedAt.UtcDateTime;
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>The sink's statement without the pg_notify, to show what the notifications cost.</summary>
    public static async Task UnnestWithoutNotifyAsync(NpgsqlDataSource dataSource, IReadOnlyList<AggregateRecord> batch)
    {
        var (_, rows) = PostgresAggregateWriter.LatestStates(batch);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand($"""
            INSERT INTO window_aggregates AS target ({Columns})
            SELECT * FROM unnest(@key::text[], @size::text[], @start::timestamptz[], @end::timestamptz[], @count::bigint[], @sum::float8[],
                @min::float8[], @max::float8[], @mean::float8[], @final::boolean[], @version::bigint[], @updated::timestamptz[])
            {UpdateWhenNewer}
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("key", rows.Select(r => r.Key).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("size", rows.Select(r => r.Window).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("start", rows.Select(r => r.WindowStart.UtcDateTime).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("end", rows.Select(r => r.WindowEnd!.Value.UtcDateTime).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<long[]>("count", rows.Select(r => r.Count).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<double[]>("sum", rows.Select(r => r.Sum).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<double[]>("min", rows.Select(r => r.Min).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<double[]>("max", rows.Select(r => r.Max).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<double[]>("mean", rows.Select(r => r.Mean).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<bool[]>("final", rows.Select(r => r.Final).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<long[]>("version", rows.Select(r => r.Version).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>("updated", rows.Select(r => r.UpdatedAt.UtcDateTime).ToArray()));
        await command.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
    }

    /// <summary>COPY the batch into a temporary staging table, then one INSERT ... SELECT with the same monotonic ON CONFLICT.</summary>
    public static async Task CopyAndMergeAsync(NpgsqlDataSource dataSource, IReadOnlyList<AggregateRecord> batch)
    {
        var (_, rows) = PostgresAggregateWriter.LatestStates(batch);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand(
            "CREATE TEMP TABLE IF NOT EXISTS window_staging (LIKE window_aggregates INCLUDING DEFAULTS) ON COMMIT DELETE ROWS", connection, transaction))
        {
            await create.ExecuteNonQueryAsync();
        }

        await CopyAsync(connection, "window_staging", rows);
        await using (var merge = new NpgsqlCommand(
            $"INSERT INTO window_aggregates AS target ({Columns}) SELECT {Columns} FROM window_staging {UpdateWhenNewer}", connection, transaction))
        {
            await merge.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>Binary COPY straight into the table: the ceiling for inserting, but it cannot replace a row.</summary>
    public static async Task PlainCopyAsync(NpgsqlDataSource dataSource, IReadOnlyList<AggregateRecord> batch)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await CopyAsync(connection, "window_aggregates", batch);
        await transaction.CommitAsync();
    }

    private static async Task CopyAsync(NpgsqlConnection connection, string table, IEnumerable<AggregateRecord> rows)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)");
        foreach (var r in rows)
        {
            await copy.StartRowAsync();
            await copy.WriteAsync(r.Key, NpgsqlDbType.Text);
            await copy.WriteAsync(r.Window, NpgsqlDbType.Text);
            await copy.WriteAsync(r.WindowStart.UtcDateTime, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync(r.WindowEnd!.Value.UtcDateTime, NpgsqlDbType.TimestampTz);
            await copy.WriteAsync(r.Count, NpgsqlDbType.Bigint);
            await copy.WriteAsync(r.Sum, NpgsqlDbType.Double);
            await copy.WriteAsync(r.Min, NpgsqlDbType.Double);
            await copy.WriteAsync(r.Max, NpgsqlDbType.Double);
            await copy.WriteAsync(r.Mean, NpgsqlDbType.Double);
            await copy.WriteAsync(r.Final, NpgsqlDbType.Boolean);
            await copy.WriteAsync(r.Version, NpgsqlDbType.Bigint);
            await copy.WriteAsync(r.UpdatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
        }

        await copy.CompleteAsync();
    }
}

/// <summary>
/// How long a record on the aggregates topic takes to be committed in PostgreSQL by the sink
/// worker (the moment it becomes visible to GET), under a steady produce rate. Measured from the
/// moment the record is handed to the producer to the change notification of its commit.
/// </summary>
internal static class Freshness
{
    /// <summary>Delays in milliseconds; <see cref="Complete"/> when every record was seen committed.</summary>
    public sealed record Delays(double P50, double P90, double P99, double Max, bool Complete);

    public static async Task<Delays?> MeasureAsync(NpgsqlDataSource dataSource, int ratePerSecond, TimeSpan duration, int fetchWaitMaxMs)
    {
        Console.WriteLine();
        Console.WriteLine($"Freshness, aggregates topic -> committed in PostgreSQL, {ratePerSecond} records/s for {duration.TotalSeconds:N0} s " +
            $"(sink defaults: batch 1000, linger 50 ms; consumer fetch.wait.max.ms {fetchWaitMaxMs}):");
        using var broker = LocalKafkaBroker.Start();
        broker.CreateTopic(Topics.Events, 1);
        broker.CreateTopic(Topics.Aggregates, 4);
        broker.CreateTopic(Topics.DeadLetter, 1);
        var options = Options.Create(new SinkOptions());
        var consumerConfig = new ConsumerConfig { BootstrapServers = broker.BootstrapServers };
        SinkExtensions.ConfigureConsumer(consumerConfig, "bench-sink-" + Guid.NewGuid());
        consumerConfig.FetchWaitMaxMs = fetchWaitMaxMs;
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(consumerConfig).Build();
        var producerConfig = new ProducerConfig { BootstrapServers = broker.BootstrapServers };
        SinkExtensions.ConfigureDeadLetterProducer(producerConfig);
        using var deadLetters = new RenewingKafkaProducer<byte[]?, byte[]?>(_ => new ProducerBuilder<byte[]?, byte[]?>(producerConfig).Build(), NullLogger.Instance);
        using var logs = LoggerFactory.Create(logging => logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
        var sinkMetrics = new SinkMetrics(new System.Diagnostics.Metrics.Meter("bench-sink"));
        var worker = new AggregateSinkWorker(consumer, new PostgresAggregateWriter(dataSource), new DeadLetterPublisher(deadLetters, options, sinkMetrics),
            new SinkStatus(), sinkMetrics, new RecordLoss(new System.Diagnostics.Metrics.Meter("bench-sink"), "pipeline.sink", logs.CreateLogger("bench")), options, logs.CreateLogger<AggregateSinkWorker>());

        // Per key, the versions sent and when, in order; a notification of version v makes every version up to v visible.
        var sent = new ConcurrentDictionary<string, ConcurrentQueue<(long Version, long At)>>();
        var delays = new ConcurrentBag<double>();
        await using var listener = await dataSource.OpenConnectionAsync();
        listener.Notification += (_, notification) =>
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var change in AggregateChangeNotifications.Read(notification.Payload))
            {
                var version = change.Version;
                if (sent.TryGetValue(change.Key, out var versions))
                {
                    while (versions.TryPeek(out var oldest) && oldest.Version <= version && versions.TryDequeue(out var seen) && seen.Version == oldest.Version)
                    {
                        delays.Add(Stopwatch.GetElapsedTime(oldest.At, now).TotalMilliseconds);
                    }
                }
            }
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {AggregateChangeNotifications.Channel}", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        using var stop = new CancellationTokenSource();
        var listening = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await listener.WaitAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        await worker.StartAsync(default);
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 1, Acks = Acks.All }).Build();
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        // Keys of their own per run: a second run on the same keys would send lower versions, which the sink rightly ignores.
        var run = Guid.NewGuid().ToString("N")[..8];
        var started = Stopwatch.GetTimestamp();
        var pending = new List<Task>();
        for (var i = 0; i < total; i++)
        {
            var due = started + (long)(i * Stopwatch.Frequency / (double)ratePerSecond);
            while (Stopwatch.GetTimestamp() < due)
            {
                await Task.Delay(1);
            }

            var key = $"fresh-{run}-{i % 200}";
            var version = (long)(i / 200) + 1;
            var state = new AggregateRecord(key, WindowNames.AllTime, WindowNames.AllTimeStart, null, version, version, 1, 1, 1, false, version, DateTimeOffset.UtcNow);
            sent.GetOrAdd(key, _ => new()).Enqueue((version, Stopwatch.GetTimestamp()));
            pending.Add(producer.ProduceAsync(Topics.Aggregates, new Message<byte[]?, byte[]?> { Key = PipelineJson.Serialize(state.Id), Value = PipelineJson.Serialize(state) }));
        }

        await Task.WhenAll(pending);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (delays.Count < total && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await worker.StopAsync(default);
        await stop.CancelAsync();
        await listening;
        var sorted = delays.Order().ToList();
        if (sorted.Count == 0)
        {
            Console.WriteLine("  no record was seen committed.");
            return null;
        }

        var measured = new Delays(Percentile(sorted, 0.50), Percentile(sorted, 0.90), Percentile(sorted, 0.99), sorted[^1], sorted.Count == total);
        Console.WriteLine($"  {sorted.Count} of {total} records seen committed: p50 {measured.P50:N1} ms, p90 {measured.P90:N1} ms, p99 {measured.P99:N1} ms, max {measured.Max:N1} ms.");
        return measured;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
}
