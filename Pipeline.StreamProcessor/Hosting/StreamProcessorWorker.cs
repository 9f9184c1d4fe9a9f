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
    ILoggerFactory loggerFactory,
    ILogger<StreamProcessorWorker> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var bootstrapServers = KafkaConnection.GetBootstrapServers(configuration);
        var blueprint = new AggregatorBlueprint(
            AggregationSettings.From(aggregation.Value), metrics, loggerFactory.CreateLogger<EventAggregator>());
        var restartDelay = TimeSpan.FromSeconds(1);

        while (!stoppingToken.IsCancellationRequested)
        {
            if (settings.StateStore == StateStoreKind.RocksDb)
            {
                WipeStateDirectory(settings);
            }

            Log.Starting(logger, settings.ApplicationId, bootstrapServers, settings.Threads, settings.Guarantee.ToString(), settings.StateStore.ToString());
            var stopped = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stream = StreamConfiguration.CreateStream(blueprint, settings, bootstrapServers, loggerFactory,
                KafkaClientSecurity.Read(configuration));
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

    /// <summary>
    /// RocksDB keeps writes that may never have reached the changelog when the process was
    /// killed; starting from such state could emit numbers no other instance can reproduce.
    /// The changelogs are the truth, so every start restores from them.
    /// </summary>
    private void WipeStateDirectory(StreamProcessorOptions settings)
    {
        var directory = Path.Combine(settings.StateDirectory, settings.ApplicationId);
        if (Directory.Exists(directory))
        {
            Log.WipingStateDirectory(logger, directory);
            Directory.Delete(directory, recursive: true);
        }
    }
}
