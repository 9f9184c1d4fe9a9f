using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Pipeline.Tests.AppHost;

/// <summary>
/// The operating-system process of a service the AppHost runs. The orchestrator starts a
/// project through <c>dotnet run</c>, so the service itself is a descendant of the process
/// the resource reports; only that one is killed, so nothing gets a chance to clean up.
/// </summary>
internal static class ServiceProcess
{
    /// <summary>Kills the service's own process with SIGKILL and returns its id.</summary>
    public static async Task<int> KillNineAsync(DistributedApplication app, string resource, string executableName)
    {
        var snapshot = (await app.ResourceNotifications.WaitForResourceAsync(resource, e => e.Snapshot.State?.Text == KnownResourceStates.Running)).Snapshot;
        var launcherPid = Convert.ToInt32(snapshot.Properties.Single(p => p.Name == "executable.pid").Value, CultureInfo.InvariantCulture);
        var pid = Descendants(launcherPid).Prepend(launcherPid).First(candidate => ProcessName(candidate).StartsWith(executableName, StringComparison.Ordinal));
        using var kill = System.Diagnostics.Process.Start("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
        return pid;
    }

    private static IEnumerable<int> Descendants(int pid)
    {
        var children = Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => int.TryParse(name, out _))
            .Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
            .Where(candidate => ParentOf(candidate) == pid)
            .ToList();
        return children.Concat(children.SelectMany(Descendants));
    }

    private static int ParentOf(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1; // gone
        }
    }

    private static string ProcessName(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }
}
