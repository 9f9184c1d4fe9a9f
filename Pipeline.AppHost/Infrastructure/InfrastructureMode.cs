using System.Diagnostics;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>Where the pipeline's Kafka and PostgreSQL come from.</summary>
public enum InfrastructureMode
{
    /// <summary>
    /// <see cref="Containers"/> where a container runtime answers and already holds every image
    /// the mode runs, else <see cref="Local"/>: a first run never waits on pulls that may fail.
    /// </summary>
    Auto,

    /// <summary>Kafka, Kafka UI and PostgreSQL as containers, with data volumes.</summary>
    Containers,

    /// <summary>The in-memory local Kafka broker and the host's own PostgreSQL binaries; nothing is kept.</summary>
    Local,

    /// <summary>An existing Kafka cluster and PostgreSQL, from the connection strings <c>kafka</c> and <c>pipelinedb</c>; nothing is provisioned.</summary>
    External,
}

/// <summary>The mode in force and why it was chosen, for the AppHost's log.</summary>
public sealed record InfrastructureChoice(InfrastructureMode Mode, string Reason)
{
    /// <summary>The configuration key: <c>--Pipeline:Infrastructure=local</c> or <c>Pipeline__Infrastructure=local</c>.</summary>
    public const string SettingKey = "Pipeline:Infrastructure";

    /// <summary>
    /// Reads the setting and, for <see cref="InfrastructureMode.Auto"/>, asks the container runtime
    /// whether it answers and (through <paramref name="missingImages"/>) which of the mode's images
    /// it does not hold yet.
    /// </summary>
    public static InfrastructureChoice Resolve(string? setting, Func<string?> probeContainerRuntime, Func<string, IReadOnlyList<string>>? missingImages = null,
        bool isPublishMode = false)
    {
        if (!Enum.TryParse<InfrastructureMode>(setting ?? nameof(InfrastructureMode.Auto), ignoreCase: true, out var requested)
            || !Enum.IsDefined(requested))
        {
            throw new InvalidOperationException(
                $"{SettingKey} is '{setting}'; use one of: auto, containers, local, external.");
        }

        // What is published must not depend on the machine that publishes it: nothing is probed.
        if (isPublishMode)
        {
            return requested switch
            {
                InfrastructureMode.Auto => new(InfrastructureMode.External,
                    "publishing: the deployment is wired to an existing Kafka and PostgreSQL through the connection strings kafka and pipelinedb"),
                InfrastructureMode.Local => throw new InvalidOperationException(
                    $"{SettingKey}=local cannot be published: its broker lives inside the AppHost process and its database in a temporary directory. " +
                    "Publish with external (the default when publishing) or containers."),
                _ => new(requested, $"{SettingKey}={requested.ToString().ToLowerInvariant()} was set"),
            };
        }

        if (requested != InfrastructureMode.Auto)
        {
            return new(requested, $"{SettingKey}={requested.ToString().ToLowerInvariant()} was set");
        }

        var runtime = probeContainerRuntime();
        if (runtime is null)
        {
            return new(InfrastructureMode.Local, "auto: no container runtime answered (docker info / podman info), so the local broker and the host's PostgreSQL are used");
        }

        var missing = missingImages?.Invoke(runtime) ?? [];
        return missing.Count == 0
            ? new(InfrastructureMode.Containers, $"auto: the container runtime '{runtime}' answered and holds every image")
            : new(InfrastructureMode.Local,
                $"auto: the container runtime '{runtime}' answered but does not hold {string.Join(", ", missing)}; " +
                $"the local broker and the host's PostgreSQL are used. Pull them ({runtime} pull ...) or set {SettingKey}=containers to let the orchestrator pull them");
    }

    /// <summary>The images of <paramref name="images"/> that <paramref name="runtime"/> does not hold locally (<c>image inspect</c> fails).</summary>
    public static IReadOnlyList<string> ImagesNotPresent(string runtime, IEnumerable<string> images) =>
        [.. images.Where(image => !Succeeds(runtime, ["image", "inspect", "--format", "{{.Id}}", image]))];

    /// <summary>
    /// The name of a container runtime whose engine answers, or null. Finding the client on
    /// PATH is not enough: a docker client without an engine is common, and then no container
    /// would ever start.
    /// </summary>
    public static string? ProbeContainerRuntime()
    {
        var preferred = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") ?? Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME");
        return string.IsNullOrWhiteSpace(preferred) ? ProbeContainerRuntime("docker", "podman") : ProbeContainerRuntime(preferred);
    }

    /// <summary>The first of <paramref name="candidates"/> whose engine answers, or null.</summary>
    public static string? ProbeContainerRuntime(params string[] candidates) => candidates.FirstOrDefault(EngineAnswers);

    // Each engine's own name for its version: podman's info has no ServerVersion, and asking
    // for it fails even where podman runs containers.
    private static bool EngineAnswers(string runtime) =>
        Succeeds(runtime, ["info", "--format", Path.GetFileName(runtime) == "podman" ? "{{.Version.Version}}" : "{{.ServerVersion}}"]);

    private static bool Succeeds(string runtime, string[] arguments)
    {
        try
        {
            using var info = Process.Start(new ProcessStartInfo(runtime, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (info is null)
            {
                return false;
            }

            // Drained, so that a long answer cannot fill the pipe and hold the process.
            _ = info.StandardOutput.ReadToEndAsync();
            _ = info.StandardError.ReadToEndAsync();

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
