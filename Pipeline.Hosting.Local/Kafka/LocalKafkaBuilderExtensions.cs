using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>Adds the local mode's Kafka broker to the app model.</summary>
public static partial class LocalKafkaBuilderExtensions
{
    /// <summary>The dashboard command that takes every broker down (clients are disconnected and refused).</summary>
    public const string TakeDownCommand = "broker-down";

    /// <summary>The dashboard command that brings the brokers back.</summary>
    public const string BringUpCommand = "broker-up";

    /// <summary>
    /// Adds resource <paramref name="name"/>: a Kafka wire-protocol broker on 127.0.0.1 that
    /// lives in the AppHost process, keeps everything in memory, and starts with
    /// <paramref name="topics"/> created with <paramref name="partitions"/> partitions each.
    /// Dashboard commands take it down and bring it back.
    /// </summary>
    public static IResourceBuilder<LocalKafkaResource> AddLocalKafka(
        this IDistributedApplicationBuilder builder, string name, int partitions, IReadOnlyList<string> topics)
    {
        var resource = new LocalKafkaResource(name, partitions, topics);
        var healthCheckKey = $"{name}-broker";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheckKey,
            _ => new LocalKafkaHealthCheck(resource),
            failureStatus: null,
            tags: null));

        return builder.AddResource(resource)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "LocalKafka",
                State = KnownResourceStates.NotStarted,
                Properties = [new(CustomResourceKnownProperties.Source, "librdkafka mock cluster (in memory, development and test only)")],
            })
            .WithHealthCheck(healthCheckKey)
            .OnInitializeResource(StartBrokerAsync)
            .WithCommand(TakeDownCommand, "Take broker down", context => SetBrokerDownAsync(resource, context, down: true),
                new CommandOptions
                {
                    Description = "Disconnect every client and refuse connections, keeping the stored records.",
                    IconName = "PlugDisconnected",
                    UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running
                        ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
                })
            .WithCommand(BringUpCommand, "Bring broker up", context => SetBrokerDownAsync(resource, context, down: false),
                new CommandOptions
                {
                    Description = "Accept connections again.",
                    IconName = "PlugConnected",
                    UpdateState = context => context.ResourceSnapshot.State?.Text == KnownResourceStates.Running
                        ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
                });
    }

    private static async Task StartBrokerAsync(LocalKafkaResource resource, InitializeResourceEvent @event, CancellationToken cancellationToken)
    {
        var logger = @event.Logger;
        try
        {
            await @event.Notifications.PublishUpdateAsync(resource, state => state with { State = KnownResourceStates.Starting });
            var broker = LocalKafkaBroker.Start(brokerCount: 1, groupInitialRebalanceDelay: TimeSpan.Zero);
            foreach (var topic in resource.Topics)
            {
                broker.CreateTopic(topic, resource.Partitions);
            }

            LogListening(logger, broker.BootstrapServers, resource.Topics.Count, resource.Partitions, string.Join(", ", resource.Topics));

            var lifetime = @event.Services.GetRequiredService<IHostApplicationLifetime>();
            lifetime.ApplicationStopped.Register(broker.Dispose);
            resource.Started(broker);

            await @event.Eventing.PublishAsync(new ConnectionStringAvailableEvent(resource, @event.Services), cancellationToken);
            await @event.Notifications.PublishUpdateAsync(resource, state => state with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = DateTime.UtcNow,
                Properties = [.. state.Properties, new("kafka.bootstrap.servers", broker.BootstrapServers), new("kafka.partitions", resource.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture))],
            });
        }
        catch (Exception exception)
        {
            LogFailedToStart(logger, exception);
            resource.FailedToStart(exception);
            await @event.Notifications.PublishUpdateAsync(resource, state => state with { State = KnownResourceStates.FailedToStart });
        }
    }

    private static async Task<ExecuteCommandResult> SetBrokerDownAsync(LocalKafkaResource resource, ExecuteCommandContext context, bool down)
    {
        if (!resource.Broker.IsCompletedSuccessfully)
        {
            return CommandResults.Failure("The broker has not started.");
        }

        var broker = await resource.Broker;
        var logger = context.Services.GetRequiredService<ResourceLoggerService>().GetLogger(resource);
        try
        {
            if (down)
            {
                broker.TakeDown();
            }
            else
            {
                broker.BringUp();
            }
        }
        catch (InvalidOperationException exception)
        {
            LogCommandFailed(logger, exception);
            return CommandResults.Failure(exception.Message);
        }

        if (down)
        {
            LogTakenDown(logger);
        }
        else
        {
            LogBroughtUp(logger);
        }
        return CommandResults.Success();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Local Kafka broker listening on {BootstrapServers} with {TopicCount} topics of {Partitions} partitions: {Topics}. " +
        "It keeps everything in memory and does not implement transactions faithfully: development and tests only.")]
    private static partial void LogListening(ILogger logger, string bootstrapServers, int topicCount, int partitions, string topics);

    [LoggerMessage(Level = LogLevel.Error, Message = "The local Kafka broker failed to start.")]
    private static partial void LogFailedToStart(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker taken down: clients are disconnected and refused until it is brought up.")]
    private static partial void LogTakenDown(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker brought up: accepting connections again.")]
    private static partial void LogBroughtUp(ILogger logger);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The broker command failed: its clients cannot reach it.")]
    private static partial void LogCommandFailed(ILogger logger, Exception exception);
}
