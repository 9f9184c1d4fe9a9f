namespace Pipeline.StreamProcessor;

/// <summary>The processor's log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Dead-lettered the record at {Topic}[{Partition}]@{Offset}: {Reason} ({Detail})")]
    public static partial void DeadLettered(ILogger logger, string topic, int partition, long offset, string reason, string detail);

    [LoggerMessage(2, LogLevel.Information, "Task {TaskId} recovered {KeyCount} keys from its store: {ClosingWindows} open windows, {PendingUpdates} updates to emit, {EventIds} event ids remembered")]
    public static partial void Recovered(ILogger logger, string taskId, int keyCount, int closingWindows, int pendingUpdates, int eventIds);

    [LoggerMessage(3, LogLevel.Information, "Stream processor state changed from {OldState} to {NewState}")]
    public static partial void StateChanged(ILogger logger, string oldState, string newState);

    [LoggerMessage(4, LogLevel.Critical, "The stream processor stopped in state {State}; restarting it in {Delay}")]
    public static partial void Restarting(ILogger logger, string state, TimeSpan delay);

    [LoggerMessage(5, LogLevel.Information, "Starting the stream processor {ApplicationId} on {BootstrapServers} with {Threads} thread(s), {Guarantee}, {StateStore} state")]
    public static partial void Starting(ILogger logger, string applicationId, string bootstrapServers, int threads, string guarantee, string stateStore);

    [LoggerMessage(7, LogLevel.Critical, "The stream processor failed to start")]
    public static partial void StartFailed(ILogger logger, Exception exception);
}
