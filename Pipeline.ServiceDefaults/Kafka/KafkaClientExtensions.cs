using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Pipeline.ServiceDefaults.Kafka;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The pipeline's Kafka client integration (what Aspire.Confluent.Kafka would give, which is
/// not available here): producers and consumers configured from
/// <c>ConnectionStrings:kafka</c>, a health check per client, and librdkafka's logs in
/// <see cref="ILogger"/>. Tracing and metrics come from <see cref="KafkaTelemetry"/>.
/// </summary>
public static class KafkaClientExtensions
{
    /// <summary>
    /// Registers a <see cref="RenewingKafkaProducer{TKey, TValue}"/> (a producer replaced after a
    /// fatal error) and its health check (<c>kafka-producer</c>). Settings: bootstrap
    /// servers from <c>ConnectionStrings:{connectionName}</c>, then <c>Kafka:Producer</c>, then
    /// <paramref name="configure"/>.
    /// </summary>
    public static IHostApplicationBuilder AddKafkaProducer<TKey, TValue>(
        this IHostApplicationBuilder builder,
        string connectionName = KafkaConnection.DefaultName,
        Action<ProducerConfig>? configure = null,
        Action<ProducerBuilder<TKey, TValue>>? configureBuilder = null)
    {
        var config = new ProducerConfig(KafkaConnection.ReadClientProperties(builder.Configuration, connectionName, "Producer"));
        configure?.Invoke(config);

        builder.Services.AddSingleton(services =>
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Kafka.Producer");
            return new RenewingKafkaProducer<TKey, TValue>(onError =>
            {
                var producerBuilder = new ProducerBuilder<TKey, TValue>(config)
                    .SetLogHandler((_, message) => LogLibrdkafka(logger, message))
                    .SetErrorHandler((producer, error) =>
                    {
                        LogClientError(logger, error);
                        onError(producer, error);
                    });
                configureBuilder?.Invoke(producerBuilder);
                return producerBuilder.Build();
            }, logger);
        });

        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "kafka-producer",
            services =>
            {
                var producers = services.GetRequiredService<RenewingKafkaProducer<TKey, TValue>>();
                return new KafkaClientHealthCheck(() => producers.Current.Handle, HealthTopic);
            },
            failureStatus: null,
            tags: ["ready"]));

        return builder;
    }

    /// <summary>
    /// Registers a singleton <see cref="IConsumer{TKey, TValue}"/> and its health check
    /// (<c>kafka-consumer</c>). Settings: bootstrap servers from
    /// <c>ConnectionStrings:{connectionName}</c>, then <c>Kafka:Consumer</c>, then
    /// <paramref name="configure"/> (which must set a group id).
    /// </summary>
    public static IHostApplicationBuilder AddKafkaConsumer<TKey, TValue>(
        this IHostApplicationBuilder builder,
        string connectionName = KafkaConnection.DefaultName,
        Action<ConsumerConfig>? configure = null,
        Action<ConsumerBuilder<TKey, TValue>>? configureBuilder = null)
    {
        var config = new ConsumerConfig(KafkaConnection.ReadClientProperties(builder.Configuration, connectionName, "Consumer"));
        configure?.Invoke(config);
        if (string.IsNullOrWhiteSpace(config.GroupId))
        {
            throw new InvalidOperationException("A Kafka consumer needs a group id: set it in Kafka:Consumer:group.id or in code.");
        }

        builder.Services.AddSingleton(services =>
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Kafka.Consumer");
            var consumerBuilder = new ConsumerBuilder<TKey, TValue>(config)
                .SetLogHandler((_, message) => LogLibrdkafka(logger, message))
                .SetErrorHandler((_, error) => LogClientError(logger, error));
            configureBuilder?.Invoke(consumerBuilder);
            return consumerBuilder.Build();
        });

        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            "kafka-consumer",
            services => new KafkaClientHealthCheck(() => services.GetRequiredService<IConsumer<TKey, TValue>>().Handle, HealthTopic),
            failureStatus: null,
            tags: ["ready"]));

        return builder;
    }

    /// <summary>Writes one librdkafka log line to <paramref name="logger"/> at the matching level.</summary>
    public static void LogLibrdkafka(ILogger logger, LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
            SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        logger.Log(level, "librdkafka {Facility} {ClientName}: {LibrdkafkaMessage}", message.Facility, message.Name, message.Message);
    }

    /// <summary>Logs a client error; fatal ones at Critical, transient ones (the client retries) at Warning.</summary>
    public static void LogClientError(ILogger logger, Error error) =>
        logger.Log(error.IsFatal ? LogLevel.Critical : LogLevel.Warning,
            "Kafka client error {KafkaErrorCode}: {KafkaErrorReason}", error.Code, error.Reason);

    // The health checks ask for the metadata of a topic every service uses.
    private const string HealthTopic = Pipeline.Contracts.Topics.Events;
}
