using Microsoft.Extensions.Options;
using Pipeline.ServiceDefaults.Kafka;
using Pipeline.StreamProcessor.Aggregation;
using Pipeline.StreamProcessor.Configuration;
using Pipeline.StreamProcessor.Telemetry;
using Streamiz.Kafka.Net;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Owns the Streamiz application: starts it, reports its state, closes it cleanly on shutdown
/// (a last commit), and starts a fresh one with growing back-off if it fails.
/// </summary>
internal sealed class StreamProcessorWorker(
    IOptions<StreamProcessorOptions> options,
    IOptions<AggregationOptions> aggregation,
    IConfiguration configuration,
    StreamProcessorMetrics metrics,
    StreamProcessorStatus status,
    RecordLoss loss,
    ILoggerFactory loggerFactory,
    ILogger<StreamProcessorWorker> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var bootstrapServers = KafkaConnection.GetBootstrapServers(configuration);
        using var watermarks = ChangelogWatermarks.Create(configuration, settings.ApplicationId);
        var blueprint = new AggregatorBlueprint(
            AggregationSettings.From(aggregation.Value), metrics, loggerFactory.CreateLogger<EventAggregator>(), watermarks.Query, loss);
        var restartDelay = TimeSpan.FromSeconds(1);

        while (!stoppingToken.IsCancellationRequested)
        {
            Log.Starting(logger, settings.ApplicationId, bootstrapServers, settings.Threads, settings.Guarantee.ToString(), settings.StateStore.ToString());
            var stopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stream = StreamConfiguration.CreateStream(blueprint, settings, bootstrapServers, loggerFactory,
                KafkaClientSecurity.Read(configuration), logger);
            stream.StateChanged += (oldState, newState) =>
            {
                status.Set(newState.ToString());
                Log.StateChanged(logger, oldState.ToString(), newState.ToString());
                if (newState == KafkaStream.State.ERROR || newState == KafkaStream.State.NOT_RUNNING)
                {
                    stopped.TrySetResult(newState.ToString());
                }
            };

            try
            {
                await stream.StartAsync();
                var finished = await Task.WhenAny(stopped.Task, Task.Delay(Timeout.Infinite, stoppingToken));
                if (finished != stopped.Task)
                {
                    return;
                }

                Log.Restarting(logger, await stopped.Task, restartDelay);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Log.StartFailed(logger, exception);
            }
            finally
            {
                // Blocks until the stream threads have committed and stopped.
                await Task.Run(stream.Dispose, CancellationToken.None);
                status.Set(stoppingToken.IsCancellationRequested ? "NOT_RUNNING" : "ERROR");
            }

            try
            {
                await Task.Delay(restartDelay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            restartDelay = TimeSpan.FromTicks(Math.Min(restartDelay.Ticks * 2, MaxRestartDelay.Ticks));
        }
    }
}
