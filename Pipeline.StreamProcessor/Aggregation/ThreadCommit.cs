namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// The aggregators of one stream thread, written out together when any of them is flushed.
/// All tasks of a thread share its producer, and Streamiz flushes them one after another, each
/// flush waiting for the acknowledgement of what that task just wrote: with many partitions per
/// thread those waits add up to most of a commit. Writing every task's pending state at the
/// first flush makes a commit wait once; the later flushes find nothing new to wait for.
/// Writing a task's state before its own flush is always safe: state ahead of committed offsets
/// is what replays are checked against.
/// </summary>
internal static class ThreadCommit
{
    [ThreadStatic]
    private static List<EventAggregator>? _aggregators;

    public static void Join(EventAggregator aggregator) => (_aggregators ??= []).Add(aggregator);

    public static void Leave(EventAggregator aggregator) => _aggregators?.Remove(aggregator);

    public static void WriteAll()
    {
        if (_aggregators is null)
        {
            return;
        }

        foreach (var aggregator in _aggregators)
        {
            aggregator.WriteChanges();
        }
    }
}
