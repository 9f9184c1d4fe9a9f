using System.Reflection;
using Streamiz.Kafka.Net.Processors.Public;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// Whether the task a processor belongs to has finished restoring its stores. Streamiz 1.8
/// only processes records of running tasks, but it runs wall-clock punctuators of every
/// assigned task, restoring or not (<c>StreamTask.PunctuateSystemTime</c> has no state check),
/// and it calls <c>Init</c> before restoration. A punctuator that read a half-restored store
/// would emit and close windows from partial state, so it asks this first. Streamiz exposes
/// the task state to no public API, so this reads it by reflection, once per task, failing
/// loudly at start-up if a Streamiz upgrade moved it.
/// </summary>
internal sealed class TaskLifecycle
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private readonly object _task;
    private readonly PropertyInfo _state;

    private TaskLifecycle(object task, PropertyInfo state)
    {
        _task = task;
        _state = state;
    }

    public bool IsRunning =>
        string.Equals(_state.GetValue(_task)?.ToString(), "RUNNING", StringComparison.Ordinal);

    public static TaskLifecycle Of<TKey, TValue>(ProcessorContext<TKey, TValue> context)
    {
        // ProcessorContext<K, V> wraps the task's ProcessorContext in a private field 'context';
        // that one holds the task in its internal property 'Task', whose 'State' is a TaskState.
        var inner = typeof(ProcessorContext<TKey, TValue>).GetField("context", Instance)?.GetValue(context);
        var task = inner is null ? null : typeof(Streamiz.Kafka.Net.ProcessorContext).GetProperty("Task", Instance)?.GetValue(inner);
        var state = task?.GetType().GetProperty("State", Instance);
        if (task is null || state is null)
        {
            throw new InvalidOperationException(
                "Cannot read the Streamiz task state (ProcessorContext<K,V>.context.Task.State); " +
                "this Streamiz version is not the one the stream processor was written for (1.8).");
        }

        return new TaskLifecycle(task, state);
    }
}
