using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.ServiceDefaults.Options;

namespace Pipeline.Sink;

/// <summary>Wires the sink: its options, the database, the Kafka clients, the workers and the health check.</summary>
internal static class SinkExtensions
{
    /// <summary>The connection string name of the pipeline's database.</summary>
    public const string DatabaseConnectionName = ConnectionNames.Database;

    public static IHostApplicationBuilder AddAggregateSink(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SinkOptions, SinkOptionsValidator>(SinkOptions.SectionName)
            .ValidateWith<SinkOptions, SinkRetryDelaysValidator>();
        builder.Services.AddValidatedOptions<RetentionOptions, RetentionOptionsValidator>(RetentionOptions.SectionName);

        builder.AddNpgsqlDataSource(DatabaseConnectionName);

        var consumerGroup = builder.Configuration.GetSection(SinkOptions.SectionName).Get<SinkOptions>()?.ConsumerGroup ?? new SinkOptions().ConsumerGroup;
        builder.AddKafkaConsumer<byte[]?, byte[]?>(KafkaConnection.DefaultName, config => ConfigureConsumer(config, consumerGroup));
        builder.AddKafkaProducer<byte[]?, byte[]?>(KafkaConnection.DefaultName, ConfigureDeadLetterProducer);

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SinkStatus>();
        builder.AddPipelineRecordFormat();
        builder.Services.AddSingleton(services => new SinkMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.AddRecordLoss(SinkTelemetry.Name, "pipeline.sink");
        builder.Services.AddSingleton<IAggregateWriter>(services => new PostgresAggregateWriter(
            services.GetRequiredService<Npgsql.NpgsqlDataSource>(), services.GetRequiredService<IOptions<SinkOptions>>().Value.AnnounceChanges));
        builder.Services.AddSingleton<DeadLetterPublisher>();
        builder.Services.AddSingleton<WindowRetention>();
        builder.Services.AddHostedService<AggregateSinkWorker>();
        builder.Services.AddHostedService<WindowRetentionWorker>();
        builder.Services.AddHealthChecks().AddCheck<SinkHealthCheck>("aggregate-sink", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// The settings the sink's guarantees rest on: offsets are committed by the worker itself, after
    /// the database commit, never automatically; a new group starts from the earliest record, and a
    /// position below the log start is reported, never skipped silently (<see cref="ConsumerPositionGuard"/>).
    /// (Its session timeout, in appsettings.json, is short: a sink that died holds its partitions
    /// until the group gives up on it, and Kafka's default of 45 s is a long stall.)
    /// </summary>
    public static void ConfigureConsumer(ConsumerConfig config, string consumerGroup)
    {
        config.GroupId = consumerGroup;
        config.EnableAutoCommit = false;
        config.EnableAutoOffsetStore = false;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.IsolationLevel = IsolationLevel.ReadCommitted;
    }

    /// <summary>A dead letter must not be lost or doubled by a retry: acks from all replicas, idempotent.</summary>
    public static void ConfigureDeadLetterProducer(ProducerConfig config)
    {
        config.Acks = Acks.All;
        config.EnableIdempotence = true;
    }
}
