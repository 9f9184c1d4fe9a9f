using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pipeline.Hosting.Local.Postgres;
using Pipeline.Sink;
using static Pipeline.Tests.Sink.Aggregates;

namespace Pipeline.Tests.Sink;

/// <summary>The sink worker between a real Kafka-protocol broker and a real PostgreSQL.</summary>
public sealed class AggregateSinkWorkerTests(SinkDatabase database) : IClassFixture<SinkDatabase>
{
    [Fact]
    public async Task ShuffledAndDuplicatedStatesOnTheTopicEndAsTheHighestVersionsWithEveryOffsetCommitted()
    {
        using var kafka = new SinkKafka();
        var states = Load("shuffle-", keys: 6, versions: 8);
        var shuffled = states.Concat(states.Take(40)).OrderBy(_ => Random.Shared.Next()).ToList();
        await kafka.ProduceAsync(shuffled);
        var options = SinkKafka.Options();
        var (worker, _) = kafka.CreateWorker(new PostgresAggregateWriter(database.DataSource), options);

        await worker.StartAsync(default);
        var stored = await Eventually.HoldsAsync(() => database.ReadAllAsync("shuffle-"), rows => rows.SequenceEqual(Truth(states)));
        // The newest versions can be stored before the older copies behind them on the topic are
        // read; the worker is stopped only once it has been through the whole topic.
        var endOffsets = kafka.EndOffsets();
        var committed = await Eventually.HoldsAsync(() => Task.FromResult(kafka.CommittedOffsets(options.ConsumerGroup)), offsets => offsets.SequenceEqual(endOffsets));
        await worker.StopAsync(default);

        Assert.Equal(Truth(states), stored);
        Assert.Equal(endOffsets, committed);
        Assert.Equal(Truth(states), await database.ReadAllAsync("shuffle-"));
    }

    [Fact]
    public async Task APoisonRecordGoesToDeadLetterWithItsReasonAndTheSinkCarriesOn()
    {
        using var kafka = new SinkKafka();
        var headers = new Headers { { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8.ToArray() } };
        var poisonKey = PipelineJson.Serialize(new AggregateId("poison-a", WindowNames.AllTime, WindowNames.AllTimeStart));
        await kafka.ProduceAsync([Totals("poison-a", 1)]);
        await kafka.ProduceRawAsync(poisonKey, "{\"key\":\"poison-a\",\"count\":"u8.ToArray(), headers);
        await kafka.ProduceRawAsync(poisonKey, null);
        await kafka.ProduceAsync([Totals("poison-a", 2), Window("poison-a", 0, 3)]);
        var options = SinkKafka.Options();
        var (worker, status) = kafka.CreateWorker(new PostgresAggregateWriter(database.DataSource), options);

        await worker.StartAsync(default);
        var stored = await Eventually.HoldsAsync(() => database.ReadAllAsync("poison-a"), rows => rows.Count == 2);
        var deadLetters = kafka.ReadDeadLetters(expected: 2);
        await Eventually.HoldsAsync(() => Task.FromResult(kafka.CommittedOffsets(options.ConsumerGroup)), offsets => offsets.SequenceEqual(kafka.EndOffsets()));
        await worker.StopAsync(default);

        Assert.Equal(Truth([Totals("poison-a", 2), Window("poison-a", 0, 3)]), stored);
        Assert.Equal([DeadLetterReasons.InvalidJson, DeadLetterReasons.NullValue], deadLetters.Select(r => SinkKafka.Header(r, DeadLetterHeaders.Reason)));
        var invalid = deadLetters[0];
        Assert.Equal("{\"key\":\"poison-a\",\"count\":", Encoding.UTF8.GetString(invalid.Message.Value!));
        Assert.Equal(poisonKey, invalid.Message.Key);
        Assert.Equal(Topics.Aggregates, SinkKafka.Header(invalid, DeadLetterHeaders.SourceTopic));
        Assert.Equal(DeadLetterPublisher.ServiceName, SinkKafka.Header(invalid, DeadLetterHeaders.Service));
        Assert.NotEmpty(SinkKafka.Header(invalid, DeadLetterHeaders.Detail));
        Assert.NotNull(SinkKafka.Header(invalid, "traceparent"));
        Assert.Equal(kafka.EndOffsets(), kafka.CommittedOffsets(options.ConsumerGroup));
        Assert.Equal(HealthStatus.Healthy, status.ToHealth().Status);
    }

    [Fact]
    public async Task ARecordPostgresRefusesIsDeadLetteredAloneWhileTheRestOfItsBatchIsStored()
    {
        using var kafka = new SinkKafka();
        var states = new[] { Totals("refuse-a", 1), Totals("refuse-b", 1), Window("refuse-a", 0, 1), Totals("refuse-c", 1) };
        await kafka.ProduceAsync(states);
        var options = SinkKafka.Options();
        var writer = new RefusingWriter(new PostgresAggregateWriter(database.DataSource), refusedKey: "refuse-b");
        var (worker, _) = kafka.CreateWorker(writer, options);

        await worker.StartAsync(default);
        var stored = await Eventually.HoldsAsync(() => database.ReadAllAsync("refuse-"), rows => rows.Count == 3);
        var deadLetters = kafka.ReadDeadLetters(expected: 1);
        await worker.StopAsync(default);

        Assert.Equal(Truth(states.Where(s => s.Key != "refuse-b")), stored);
        var refused = Assert.Single(deadLetters);
        Assert.Equal(DeadLetterReasons.RejectedByDatabase, SinkKafka.Header(refused, DeadLetterHeaders.Reason));
        Assert.StartsWith("22003", SinkKafka.Header(refused, DeadLetterHeaders.Detail), StringComparison.Ordinal);
        Assert.Equal(Totals("refuse-b", 1), PipelineJson.Deserialize<AggregateRecord>(refused.Message.Value));
    }

    [Fact]
    public async Task ACrashBetweenTheDatabaseCommitAndTheOffsetCommitIsRepairedByTheReplayOfTheNextRun()
    {
        using var kafka = new SinkKafka();
        var states = Load("crash-", keys: 10, versions: 10).OrderBy(_ => Random.Shared.Next()).ToList();
        await kafka.ProduceAsync(states);
        var options = SinkKafka.Options(batchSize: 50);
        var crashing = new CrashingWriter(new PostgresAggregateWriter(database.DataSource), crashOnWrite: 3);
        var (first, _) = kafka.CreateWorker(crashing, options);

        await first.StartAsync(default);
        await Assert.ThrowsAsync<SimulatedCrash>(() => first.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(60)));

        // Committed: exactly the two batches before the crash. Stored: the crashed batch as well.
        var committed = kafka.CommittedOffsets(options.ConsumerGroup).Sum(offset => Math.Max(offset, 0));
        Assert.Equal(crashing.Batches[0].Count + crashing.Batches[1].Count, committed);
        var afterCrash = await database.ReadAllAsync("crash-");
        Assert.All(crashing.Batches[2], state => Assert.Contains(afterCrash, row => row.Id == state.Id && row.Version >= state.Version));
        Assert.NotEqual(Truth(states), afterCrash);

        var recording = new CrashingWriter(new PostgresAggregateWriter(database.DataSource), crashOnWrite: int.MaxValue);
        var (second, _) = kafka.CreateWorker(recording, options);
        await second.StartAsync(default);
        await Eventually.HoldsAsync(() => Task.FromResult(kafka.CommittedOffsets(options.ConsumerGroup)), offsets => offsets.SequenceEqual(kafka.EndOffsets()));
        await second.StopAsync(default);

        Assert.Equal(Truth(states), await database.ReadAllAsync("crash-"));
        var replayed = recording.Batches.SelectMany(batch => batch).ToList();
        Assert.All(crashing.Batches[2], state => Assert.Contains(state, replayed));
        Assert.Equal(states.Count - committed, replayed.Count);
    }

    [Fact]
    public async Task PostgresStoppedAndRestartedDuringALoadLosesNothingWhileHealthSaysSoAndLagGrows()
    {
        await using var postgres = await LocalPostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("pipelinedb");
        Pipeline.Migrator.DatabaseMigrations.Apply(postgres.ConnectionString("pipelinedb"), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString("pipelinedb") + ";Timeout=3");
        using var kafka = new SinkKafka();
        var options = SinkKafka.Options(batchSize: 100);
        var (worker, status) = kafka.CreateWorker(new PostgresAggregateWriter(dataSource), options);
        await worker.StartAsync(default);

        // A steady load: each round moves every aggregate of 20 keys one version on.
        var states = new ConcurrentQueue<AggregateRecord>();
        var load = Task.Run(async () =>
        {
            for (var version = 1; version <= 40; version++)
            {
                var round = Enumerable.Range(0, 20).SelectMany(k => new[] { Totals($"outage-{k}", version), Window($"outage-{k}", version / 10, version) }).ToList();
                await kafka.ProduceAsync(round);
                round.ForEach(states.Enqueue);
                await Task.Delay(100);
            }
        });

        await Task.Delay(800);
        await postgres.StopAsync();
        var unhealthy = await Eventually.HoldsAsync(() => Task.FromResult(status.ToHealth()), health => health.Status == HealthStatus.Unhealthy, TimeSpan.FromSeconds(10));
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        var lagEarly = (long)unhealthy.Data["lag"];
        var lagLater = await Eventually.HoldsAsync(() => Task.FromResult((long)status.ToHealth().Data["lag"]), lag => lag > lagEarly + 100, TimeSpan.FromSeconds(10));
        Assert.True(lagLater > lagEarly + 100, $"lag went from {lagEarly} to {lagLater} while PostgreSQL was down");
        await postgres.StartAgainAsync();
        await load;

        var stored = await Eventually.HoldsAsync(() => SinkDatabase.ReadAllAsync(dataSource, "outage-"), rows => rows.SequenceEqual(Truth(states)), TimeSpan.FromSeconds(60));
        await Eventually.HoldsAsync(() => Task.FromResult(kafka.CommittedOffsets(options.ConsumerGroup)), offsets => offsets.SequenceEqual(kafka.EndOffsets()));
        await worker.StopAsync(default);

        Assert.Equal(Truth(states), stored);
        Assert.Equal(kafka.EndOffsets(), kafka.CommittedOffsets(options.ConsumerGroup));
        Assert.Equal(HealthStatus.Healthy, status.ToHealth().Status);
    }

    [Fact]
    public async Task EachRecordIsProcessedInASpanThatContinuesTheTraceInItsHeaders()
    {
        using var kafka = new SinkKafka();
        var producerSpan = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Pipeline.Kafka" or SinkTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var headers = new Headers { { "traceparent", Encoding.UTF8.GetBytes($"00-{producerSpan}-{parentSpan}-01") } };
        var state = Totals("trace-a", 1);
        await kafka.ProduceRawAsync(PipelineJson.Serialize(state.Id), PipelineJson.Serialize(state), headers);
        var (worker, _) = kafka.CreateWorker(new PostgresAggregateWriter(database.DataSource), SinkKafka.Options());

        await worker.StartAsync(default);
        await Eventually.HoldsAsync(() => database.ReadAllAsync("trace-a"), rows => rows.Count == 1);
        await worker.StopAsync(default);

        var process = Assert.Single(spans, span => span.TraceId == producerSpan && span.OperationName == $"process {Topics.Aggregates}");
        Assert.Equal(parentSpan, process.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Contains(spans, span => span.Source.Name == SinkTelemetry.Name && span.Links.Any(link => link.Context.TraceId == producerSpan));
    }

    [Fact]
    public async Task EndToEndFreshnessIsMeasuredFromTheTimestampOfTheEventBehindAnUpdateAndOnlyWhenOneIsNamed()
    {
        using var kafka = new SinkKafka();
        using var freshness = new MetricCollector<double>(kafka.Metrics.Meter, "pipeline.sink.event.freshness");
        // Ninety seconds old: far from what any other test's updates could measure meanwhile.
        var eventTime = DateTimeOffset.UtcNow.AddSeconds(-90);
        var caused = Totals("fresh-a", 1);
        await kafka.ProduceRawAsync(PipelineJson.Serialize(caused.Id), PipelineJson.Serialize(caused),
            new Headers { { AggregateHeaders.EventTime, Encoding.UTF8.GetBytes(eventTime.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)) } });
        await kafka.ProduceRawAsync(PipelineJson.Serialize(Totals("fresh-b", 1).Id), PipelineJson.Serialize(Totals("fresh-b", 1)),
            new Headers { { AggregateHeaders.EventTime, "not-a-time"u8.ToArray() } });
        await kafka.ProduceAsync([Totals("fresh-c", 1)]);
        var (worker, _) = kafka.CreateWorker(new PostgresAggregateWriter(database.DataSource), SinkKafka.Options());

        await worker.StartAsync(default);
        var stored = await Eventually.HoldsAsync(() => database.ReadAllAsync("fresh-"), rows => rows.Count == 3);
        await worker.StopAsync(default);
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(3, stored.Count);
        var measured = Assert.Single(freshness.GetMeasurementSnapshot().Select(m => m.Value), value => value >= 90 && value < 600);
        Assert.InRange(measured, 90, (after - eventTime).TotalSeconds);
    }

    /// <summary>Every version 1..versions of the totals and two 1m windows of each key.</summary>
    private static List<AggregateRecord> Load(string prefix, int keys, int versions) =>
        Enumerable.Range(0, keys)
            .SelectMany(k => Enumerable.Range(1, versions).SelectMany(v => new[] { Totals($"{prefix}{k}", v), Window($"{prefix}{k}", 0, v), Window($"{prefix}{k}", 1, v) }))
            .ToList();

    private sealed class SimulatedCrash() : Exception("Simulated crash after the database commit, before the offset commit.");

    /// <summary>Records every batch; on the given write, commits it to the database and then dies.</summary>
    private sealed class CrashingWriter(IAggregateWriter inner, int crashOnWrite) : IAggregateWriter
    {
        public List<List<AggregateRecord>> Batches { get; } = [];

        public async Task<AggregateWriteResult> WriteAsync(IReadOnlyCollection<AggregateRecord> records, CancellationToken cancellationToken)
        {
            var result = await inner.WriteAsync(records, cancellationToken);
            Batches.Add([.. records]);
            return Batches.Count == crashOnWrite ? throw new SimulatedCrash() : result;
        }
    }

    /// <summary>Refuses, as PostgreSQL would a value out of range, any batch holding one key.</summary>
    private sealed class RefusingWriter(IAggregateWriter inner, string refusedKey) : IAggregateWriter
    {
        public Task<AggregateWriteResult> WriteAsync(IReadOnlyCollection<AggregateRecord> records, CancellationToken cancellationToken) =>
            records.Any(record => record.Key == refusedKey)
                ? throw new PostgresException("value out of range", "ERROR", "ERROR", "22003")
                : inner.WriteAsync(records, cancellationToken);
    }
}
