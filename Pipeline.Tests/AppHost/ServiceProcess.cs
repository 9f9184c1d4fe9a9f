using System.Globalization;

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
        var snapshot = (await app.ResourceNotifications.WaitForResourceAsync(resource, e => e.Snapshot.State?.Text == KnownResourceStates.Running).WaitAsync(TimeSpan.FromMinutes(2))).Snapshot;
        var launcherPid = LauncherPid(snapshot);
        var pid = Descendants(launcherPid).Prepend(launcherPid).First(candidate => ProcessName(candidate).StartsWith(executableName, StringComparison.Ordinal));
        Assert.Equal(0, await SigKillAsync(pid));
        return pid;
    }

    /// <summary>The process the orchestrator started for a resource: for a project, its <c>dotnet run</c>.</summary>
    private static int LauncherPid(CustomResourceSnapshot snapshot) =>
        Convert.ToInt32(snapshot.Properties.Single(p => p.Name == "executable.pid").Value, CultureInfo.InvariantCulture);

    /// <summary>Sends SIGKILL to <paramref name="pid"/>; returns kill's exit code.</summary>
    private static async Task<int> SigKillAsync(int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return kill.ExitCode;
    }

    /// <summary>
    /// Waits for the resource of a killed service to end. It ends when its <c>dotnet run</c>
    /// launcher, the process the orchestrator watches, sees its child die and exits; once (2026-12-02,
    /// the suite run beside a busy loop) that had not happened 60 s after the kill. A launcher still
    /// there after 30 s is killed too: a deployed service has no launcher, so the service's death
    /// is then what the orchestrator sees, as it would be in production.
    /// </summary>
    private static async Task WaitUntilEndedAsync(DistributedApplication app, string resource)
    {
        var ended = app.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates);
        try
        {
            await ended.WaitAsync(TimeSpan.FromSeconds(30));
            return;
        }
        catch (TimeoutException)
        {
        }

        var snapshot = (await app.ResourceNotifications.WaitForResourceAsync(resource, _ => true)).Snapshot;
        var launcherPid = LauncherPid(snapshot);
        if (Directory.Exists($"/proc/{launcherPid}"))
        {
            await SigKillAsync(launcherPid);
        }

        try
        {
            await ended.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{resource} did not end within 60 s of its kill (state {snapshot.State?.Text}; its launcher {launcherPid} {(Directory.Exists($"/proc/{launcherPid}") ? "is still there" : "is gone")}).");
        }
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

    /// <summary>
    /// Starts a service that died, as an operator would press Start (the orchestrator does not
    /// restart a process that died), and waits until it is healthy. A start that fails at once
    /// (seen now and then on a loaded machine, before the service logs a line) is pressed again,
    /// up to three times. The bounds allow for a loaded 2-core machine; they are not speed targets.
    /// </summary>
    public static async Task RestartAsync(DistributedApplication app, string resource)
    {
        var terminal = TimeSpan.FromSeconds(60);
        await WaitUntilEndedAsync(app, resource);
        var commands = app.Services.GetRequiredService<ResourceCommandService>();
        for (var attempt = 1; ; attempt++)
        {
            var started = await commands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand);
            Assert.True(started.Success, started.Message);
            try
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(4));
                return;
            }
            catch (DistributedApplicationException) when (attempt < 3)
            {
                await app.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates).WaitAsync(terminal);
            }
        }
    }
}
