using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Errors;
using Streamiz.Kafka.Net.SerDes;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>Turns the validated options into Streamiz's configuration and a ready-to-start stream.</summary>
internal static class StreamConfiguration
{
    /// <summary>The processor's Streamiz application: its topology, configuration and Kafka clients.</summary>
    public static KafkaStream CreateStream(
        AggregatorBlueprint blueprint, StreamProcessorOptions options, string bootstrapServers, ILoggerFactory? loggerFactory,
        IReadOnlyDictionary<string, string>? security = null, ILogger? logger = null)
    {
        var config = Create(options, bootstrapServers, loggerFactory);
        StreamSecurity.Apply(config, security);
        var supplier = new SteadyPollingKafkaSupplier(config, blueprint.Metrics.Lag, blueprint.Loss, logger, blueprint.Metrics.Activity);
        return new KafkaStream(AggregationTopology.Build(blueprint, options.StateStore), config, supplier);
    }

    public static StreamConfig Create(StreamProcessorOptions options, string bootstrapServers, ILoggerFactory? loggerFactory)
    {
        var sessionTimeout = Parse(options.SessionTimeout);
        var exactlyOnce = options.Guarantee == ProcessingGuaranteeSetting.ExactlyOnce;
        var config = new PipelineStreamConfig
        {
            ApplicationId = options.ApplicationId,
            ClientId = $"{options.ApplicationId}-{Environment.MachineName}-{Environment.ProcessId}",
            BootstrapServers = bootstrapServers,
            NumStreamThreads = options.Threads,
            // Guarantee first: setting it resets the commit interval.
            Guarantee = exactlyOnce ? ProcessingGuarantee.EXACTLY_ONCE : ProcessingGuarantee.AT_LEAST_ONCE,
            CommitIntervalMs = (long)Parse(options.CommitInterval).TotalMilliseconds,
            PollMs = (long)Parse(options.PollInterval).TotalMilliseconds,
            MaxPollRecords = 1000,
            FetchWaitMaxMs = (int)Parse(options.FetchWaitMax).TotalMilliseconds,
            SessionTimeoutMs = (int)sessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = Math.Max(100, (int)sessionTimeout.TotalMilliseconds / 3),
            // For a new group; the stream threads' consumers never skip records silently (SteadyPollingKafkaSupplier).
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // Topics are created up front; never let a typo create one with the wrong partition count.
            AllowAutoCreateTopics = false,
            Acks = Acks.All,
            // A commit waits until every record produced is acknowledged; a record the broker has
            // not taken within this time fails the stream, which is then started afresh.
            MessageTimeoutMs = (int)Math.Min(int.MaxValue, Parse(options.DeliveryTimeout).TotalMilliseconds),
            StateDir = options.StateDirectory,
            DefaultKeySerDes = new ByteArraySerDes(),
            DefaultValueSerDes = new ByteArraySerDes(),
            // Emitted updates rely on every produced record being acknowledged before a commit
            // completes: a failed delivery must stop the task, never be skipped.
            ProductionExceptionHandler = _ => ProductionExceptionHandlerResponse.FAIL,
            InnerExceptionHandler = _ => ExceptionHandlerResponse.FAIL,
            LogProcessingSummary = TimeSpan.FromMinutes(1),
        };

        if (loggerFactory is not null)
        {
            config.Logger = new HostLoggerFactory(loggerFactory);
        }

        if (!exactlyOnce)
        {
            // Keeps each changelog partition in write order across retries, which recovery relies on.
            config.EnableIdempotence = true;
        }

        return config;
    }

    private static TimeSpan Parse(string value) =>
        Durations.TryParse(value, out var duration) ? duration : throw new InvalidOperationException($"'{value}' is not a duration.");

    /// <summary>
    /// Streamiz keeps the last logger factory it was given in a static and creates loggers from
    /// it in every later <see cref="StreamConfig"/>, even one built for another host. Once this
    /// host has stopped and disposed its factory, those loggers are null ones rather than an
    /// <see cref="ObjectDisposedException"/> (tests run many hosts in one process).
    /// </summary>
    private sealed class HostLoggerFactory(ILoggerFactory host) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName)
        {
            try
            {
                return host.CreateLogger(categoryName);
            }
            catch (ObjectDisposedException)
            {
                return NullLogger.Instance;
            }
        }

        public void AddProvider(ILoggerProvider provider) => host.AddProvider(provider);

        public void Dispose()
        {
            // The host owns its factory.
        }
    }
}
