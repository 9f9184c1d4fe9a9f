using System.Collections.Concurrent;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The last lines each watched resource wrote, across its restarts, so that a failing fault
/// test can say what the services were doing (a stall seen once on CI is otherwise a mystery).
/// </summary>
internal sealed class ResourceLogTail : IAsyncDisposable
{
    private const int LinesKept = 80;

    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Queue<string>> _lines = new();
    private readonly List<Task> _watchers = [];

    /// <summary>
    /// Follows the resources named in <paramref name="resources"/> (the instance the orchestrator
    /// reports first) and the instances named by their ids in <paramref name="instanceIds"/> (each
    /// replica of a resource has its own).
    /// </summary>
    public static async Task<ResourceLogTail> StartAsync(DistributedApplication app, IEnumerable<string> resources, IEnumerable<string>? instanceIds = null)
    {
        var followed = new List<string>(instanceIds ?? []);
        foreach (var resource in resources)
        {
            followed.Add((await app.ResourceNotifications.WaitForResourceAsync(resource, _ => true)).ResourceId);
        }

        var tail = new ResourceLogTail();
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        foreach (var resourceId in followed)
        {
            tail._watchers.Add(tail.WatchAsync(logs, resourceId));
        }

        return tail;
    }

    /// <summary>The kept lines of every watched resource, oldest first.</summary>
    public override string ToString() => string.Join("\n", _lines.OrderBy(entry => entry.Key).Select(entry =>
    {
        lock (entry.Value)
        {
            return $"--- last lines of {entry.Key} ---\n" + string.Join("\n", entry.Value);
        }
    }));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_watchers).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    // A watch ends when the process it follows exits; a restarted process is watched again, and
    // the lines replayed on re-watching are skipped.
    private async Task WatchAsync(ResourceLoggerService logs, string resourceId)
    {
        var kept = _lines.GetOrAdd(resourceId, _ => new Queue<string>());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var batch in logs.WatchAsync(resourceId).WithCancellation(_stop.Token))
                {
                    foreach (var line in batch.Where(line => seen.Add(line.Content)))
                    {
                        lock (kept)
                        {
                            kept.Enqueue(line.Content);
                            while (kept.Count > LinesKept)
                            {
                                kept.Dequeue();
                            }
                        }
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
