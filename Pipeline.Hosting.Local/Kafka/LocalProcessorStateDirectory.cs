using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// Where the stream processor keeps its state stores in the local mode. The local broker drops
/// the head of every partition past 5 MiB and compacts nothing, so after a long run the
/// changelogs no longer hold every key: the stores are kept on disk (RocksDB) and a restarted
/// processor restores only the changelogs' tail over them. The directory lives exactly as long as
/// the broker does (one AppHost run): state from another run would not match the new broker's
/// topics. Every processor instance of the run shares it; a task's store is opened by one instance
/// at a time.
/// </summary>
public static class LocalProcessorStateDirectory
{
    private const string Prefix = "pipeline-processor-state-";

    /// <summary>Makes a fresh directory for this AppHost run, deleted when the AppHost stops.</summary>
    public static string Create(IDistributedApplicationBuilder builder)
    {
        DeleteAbandoned();
        var directory = Path.Combine(Path.GetTempPath(),
            string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}"));
        Directory.CreateDirectory(directory);
        builder.Services.AddHostedService(_ => new Cleanup(directory));
        return directory;
    }

    // A run that was killed leaves its directory behind; a later run deletes those whose AppHost is gone.
    private static void DeleteAbandoned()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var pid = Path.GetFileName(directory)[Prefix.Length..].Split('-')[0];
            if (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var owner) && !IsRunning(owner))
            {
                TryDelete(directory);
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next run's sweep.
        }
        catch (UnauthorizedAccessException)
        {
            // Left for the next run's sweep.
        }
    }

    private sealed class Cleanup(string directory) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            TryDelete(directory);
            return Task.CompletedTask;
        }
    }
}
