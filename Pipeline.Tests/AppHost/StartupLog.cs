namespace Pipeline.Tests.AppHost;

/// <summary>The console lines each service wrote so far: what the dashboard shows for a start.</summary>
internal static class StartupLog
{
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> ReadAsync(DistributedApplication app, IEnumerable<string> services)
    {
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        var result = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var service in services)
        {
            var resourceId = (await app.ResourceNotifications.WaitForResourceAsync(service, _ => true)).ResourceId;
            var lines = new List<string>();
            // The watch replays what was written so far, then waits for more: a short quiet ends it.
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await foreach (var batch in logs.WatchAsync(resourceId).WithCancellation(quiet.Token))
                {
                    lines.AddRange(batch.Select(line => line.Content));
                }
            }
            catch (OperationCanceledException)
            {
            }

            result[service] = lines;
        }

        return result;
    }
}
