using System.Diagnostics;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>Where the pipeline's Kafka and PostgreSQL come from.</summary>
public enum InfrastructureMode
{
    /// <summary><see cref="Containers"/> where a container runtime answers, else <see cref="Local"/>.</summary>
    Auto,

    /// <summary>Kafka, Kafka UI and PostgreSQL as containers, with data volumes.</summary>
    Containers,

    /// <summary>The in-memory local Kafka broker and the host's own PostgreSQL binaries; nothing is kept.</summary>
    Local,
}

/// <summary>The mode in force and why it was chosen, for the AppHost's log.</summary>
public sealed record InfrastructureChoice(InfrastructureMode Mode, string Reason)
{
    /// <summary>The configuration key: <c>--Pipeline:Infrastructure=local</c> or <c>Pipeline__Infrastructure=local</c>.</summary>
    public const string SettingKey = "Pipeline:Infrastructure";

    /// <summary>Reads the setting and, for <see cref="InfrastructureMode.Auto"/>, asks the container runtime whether it answers.</summary>
    public static InfrastructureChoice Resolve(string? setting, Func<string?> probeContainerRuntime)
    {
        if (!Enum.TryParse<InfrastructureMode>(setting ?? nameof(InfrastructureMode.Auto), ignoreCase: true, out var requested)
            || !Enum.IsDefined(requested))
        {
            throw new InvalidOperationException(
                $"{SettingKey} is '{setting}'; use one of: auto, containers, local.");
        }

        if (requested != InfrastructureMode.Auto)
        {
            return new(requested, $"{SettingKey}={requested.ToString().ToLowerInvariant()} was set");
        }

        var runtime = probeContainerRuntime();
        return runtime is not null
            ? new(InfrastructureMode.Containers, $"auto: the container runtime '{runtime}' answered")
            : new(InfrastructureMode.Local, "auto: no container runtime answered (docker info / podman info), so the local broker and the host's PostgreSQL are used");
    }

    /// <summary>
    /// The name of a container runtime whose engine answers, or null. Finding the client on
    /// PATH is not enough: a docker client without an engine is common, and then no container
    /// would ever start.
    /// </summary>
    public static string? ProbeContainerRuntime()
    {
        var preferred = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") ?? Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME");
        string[] candidates = string.IsNullOrWhiteSpace(preferred) ? ["docker", "podman"] : [preferred];
        return candidates.FirstOrDefault(EngineAnswers);
    }

    private static bool EngineAnswers(string runtime)
    {
        try
        {
            using var info = Process.Start(new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (info is null)
            {
                return false;
            }

            if (!info.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                info.Kill(entireProcessTree: true);
                return false;
            }

            return info.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // not installed
        }
    }
}
