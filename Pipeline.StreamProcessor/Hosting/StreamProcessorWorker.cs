using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;
using Polly;
using Polly.Retry;
using Streamiz.Kafka.Net;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Owns the Streamiz application: starts it, reports its state, closes it cleanly on shutdown
/// (a last commit), and starts a fresh one with growing back-off (Polly) if it fails.
/// </summary>
internal sealed partial class StreamProcessorWorker(
    IOptions<StreamProcessorOptions> options,
    IOptions<AggregationOptions> aggregation,
    IConfiguration configuration,
    StreamProcessorMetrics metrics,
    StreamProcessorStatus status,
    RecordLoss loss,
    PipelineRecordFormat recordFormat,
    DedupeBudget dedupe,
    ILoggerFactory loggerFactory,
    ILogger<StreamProcessorWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var bootstrapServers = KafkaConnection.GetBootstrapServers(configuration);
        using var watermarks = ChangelogWatermarks.Create(configuration, settings.ApplicationId);
        var blueprint = new AggregatorBlueprint(
            AggregationSettings.From(aggregation.Value), metrics, loggerFactory.CreateLogger<EventAggregator>(), watermarks.Query, loss, recordFormat, dedupe);

        // A stream that stops (ERROR, or a start that fails) is started afresh after 1 s, 2 s, 4 s … up to 30 s.
        var restarts = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = arguments => ValueTask.FromResult(
                    arguments.Outcome.Exception is { } exception && exception is not OperationCanceledException && !stoppingToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(30),
                UseJitter = false,
                OnRetry = arguments =>
                {
                    if (arguments.Outcome.Exception is StreamStoppedException stopped)
                    {
                        LogRestarting(logger, stopped.State, arguments.RetryDelay);
                    }
                    else
                    {
                        LogStartFailed(logger, arguments.Outcome.Exception!);
                    }

                    return default;
                },
            })
            .Build();

        try
        {
            await restarts.ExecuteAsync(token => RunOnceAsync(blueprint, settings, bootstrapServers, token), stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Runs one Streamiz application until the host stops (returns) or the stream stops by itself (throws).</summary>
    private async ValueTask RunOnceAsync(AggregatorBlueprint blueprint, StreamProcessorOptions settings, string bootstrapServers, CancellationToken stoppingToken)
    {
        LogStarting(logger, settings.ApplicationId, bootstrapServers, settings.Threads, settings.Guarantee.ToString(), settings.StateStore.ToString());
        var stopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        metrics.Activity.Reset();
        var stream = StreamConfiguration.CreateStream(blueprint, settings, bootstrapServers, loggerFactory,
            KafkaClientSecurity.Read(configuration), logger);
        stream.StateChanged += (oldState, newState) =>
        {
            status.Set(newState.ToString());
            LogStateChanged(logger, oldState.ToString(), newState.ToString());
            if (newState == KafkaStream.State.ERROR || newState == KafkaStream.State.NOT_RUNNING)
            {
                stopped.TrySetResult(newState.ToString());
            }
        };

        try
        {
            await stream.StartAsync();
            var finished = await Task.WhenAny(stopped.Task, Task.Delay(Timeout.Infinite, stoppingToken));
            if (finished == stopped.Task)
            {
                throw new StreamStoppedException(await stopped.Task);
            }
        }
        finally
        {
            // Blocks until the stream threads have committed and stopped.
            await Task.Run(stream.Dispose, CancellationToken.None);
            status.Set(stoppingToken.IsCancellationRequested ? "NOT_RUNNING" : "ERROR");
        }
    }

    [LoggerMessage(3, LogLevel.Information, "Stream processor state changed from {OldState} to {NewState}")]
    private static partial void LogStateChanged(ILogger logger, string oldState, string newState);

    [LoggerMessage(4, LogLevel.Critical, "The stream processor stopped in state {State}; restarting it in {Delay}")]
    private static partial void LogRestarting(ILogger logger, string state, TimeSpan delay);

    [LoggerMessage(5, LogLevel.Information, "Starting the stream processor {ApplicationId} on {BootstrapServers} with {Threads} thread(s), {Guarantee}, {StateStore} state")]
    private static partial void LogStarting(ILogger logger, string applicationId, string bootstrapServers, int threads, string guarantee, string stateStore);

    [LoggerMessage(7, LogLevel.Critical, "The stream processor failed to start")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);

    /// <summary>The Streamiz application stopped by itself, in <paramref name="state"/>.</summary>
    private sealed class StreamStoppedException(string state) : Exception($"The stream processor stopped in state {state}.")
    {
        public string State { get; } = state;
    }
}
