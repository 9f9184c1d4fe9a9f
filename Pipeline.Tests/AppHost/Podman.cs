namespace Pipeline.Tests.AppHost;

/// <summary>
/// The podman command line, for the containers-mode tests: whether it can run containers at
/// all, and what it reports about the containers the orchestrator created.
/// </summary>
internal static class Podman
{
    /// <summary>The images <c>.ci/test-images</c> builds; the test's own names, never the official ones.</summary>
    public const string PostgresImage = "localhost/pipeline-test/postgres:15";

    /// <inheritdoc cref="PostgresImage"/>
    public const string KafkaStandInImage = "localhost/pipeline-test/kafka-stand-in:1";

    private static readonly Lazy<string?> Unusable = new(() =>
    {
        try
        {
            var (exitCode, _, error) = Run(["info", "--format", "{{.Host.OCIRuntime.Name}}"], TimeSpan.FromSeconds(30));
            return exitCode == 0 ? null : $"podman info failed: {error.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "podman is not installed (.ci/test-images installs it)";
        }
    });

    /// <summary>Why podman cannot run containers here, or null when it can.</summary>
    public static string? WhyUnusable => Unusable.Value;

    /// <summary>
    /// An AppHost identity for tests that build the containers model without running it. The
    /// orchestrator may still create the model's volumes; under this identity they are named
    /// apart from a developer's own (<c>--AppHostSha</c>, Aspire's hook for tests), and
    /// <see cref="RemoveModelTestVolumes"/> removes them.
    /// </summary>
    public static readonly string ModelTestAppHostSha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData("pipeline containers model test"u8));

    /// <summary>Removes the volumes named under <see cref="ModelTestAppHostSha"/>, where podman runs.</summary>
    public static void RemoveModelTestVolumes()
    {
        if (WhyUnusable is not null)
        {
            return;
        }

        var prefix = $"pipeline.apphost-{ModelTestAppHostSha[..10].ToLowerInvariant()}-";
        foreach (var volume in Run(["volume", "ls", "--format", "{{.Name}}"], TimeSpan.FromSeconds(30)).Output
                     .Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(v => v.StartsWith(prefix, StringComparison.Ordinal)))
        {
            Run(["volume", "rm", volume], TimeSpan.FromSeconds(30));
        }
    }

    public static bool ImageExists(string image) => Run(["image", "exists", image], TimeSpan.FromSeconds(30)).ExitCode == 0;

    /// <summary><c>podman inspect</c> of one container.</summary>
    public static JsonElement Inspect(string container)
    {
        var (exitCode, output, error) = Run(["inspect", "--type", "container", container], TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, $"podman inspect {container} failed: {error}");
        return JsonDocument.Parse(output).RootElement[0].Clone();
    }

    /// <summary>The container's environment, from <c>podman inspect</c> (Config.Env).</summary>
    public static Dictionary<string, string> EnvironmentOf(JsonElement inspected) =>
        inspected.GetProperty("Config").GetProperty("Env").EnumerateArray()
            .Select(variable => variable.GetString()!.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : "");

    /// <summary>Runs a command inside a running container; its standard output.</summary>
    public static string Exec(string container, params string[] command)
    {
        var (exitCode, output, error) = Run(["exec", container, .. command], TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, $"podman exec {container} {string.Join(' ', command)} failed ({exitCode}): {error}");
        return output;
    }

    public static (int ExitCode, string Output, string Error) Run(string[] arguments, TimeSpan timeout)
    {
        using var process = Process.Start(new ProcessStartInfo("podman", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "", $"podman {string.Join(' ', arguments)} did not finish within {timeout}");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}

/// <summary>
/// A fact that needs podman able to run containers. It is skipped, with the reason, only when
/// podman cannot run at all (not installed, or <c>podman info</c> fails); a missing test image
/// is a failure, because CI builds them (<c>.ci/test-images</c>).
/// </summary>
public sealed class PodmanFactAttribute : FactAttribute
{
    public PodmanFactAttribute()
    {
        if (Podman.WhyUnusable is { } reason)
        {
            Skip = $"Containers cannot run on this machine: {reason}.";
        }
    }
}
