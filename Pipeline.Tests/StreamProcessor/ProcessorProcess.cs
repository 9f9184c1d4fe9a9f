using System.Collections.Concurrent;
using Pipeline.Hosting.Local;

namespace Pipeline.Tests.StreamProcessor;

/// <summary>
/// Pipeline.StreamProcessor as its own process, configured the way the AppHost configures it,
/// so that a test can kill it with SIGKILL at any moment: no shutdown hook, no last commit.
/// </summary>
internal sealed class ProcessorProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentBag<(string Text, TaskCompletionSource Seen)> _watches = [];

    private ProcessorProcess(Process process, string name, int port)
    {
        _process = process;
        Name = name;
        Port = port;
    }

    public string Name { get; }

    /// <summary>The loopback port of its HTTP endpoints (<c>/health</c>).</summary>
    public int Port { get; }

    public bool HasExited => _process.HasExited;

    public static ProcessorProcess Start(string name, string bootstrapServers, string applicationId, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = LoopbackPorts.FindFree();
        var dll = Path.Combine(AppContext.BaseDirectory, "Pipeline.StreamProcessor.dll");
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            ArgumentList = { "exec", dll },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var variable in start.Environment.Keys.Where(key => key.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(variable);
        }

        start.Environment["ConnectionStrings__kafka"] = bootstrapServers;
        start.Environment["StreamProcessor__ApplicationId"] = applicationId;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Streamiz.Kafka.Net"] = "Warning";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var started = new ProcessorProcess(process, name, port);
        process.OutputDataReceived += (_, line) => started.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => started.Keep(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits until <c>/health</c> answers healthy: Streamiz is RUNNING with its partitions assigned.</summary>
    public async Task WaitUntilHealthy(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync("/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name} did not become healthy within {timeout}.{Environment.NewLine}{Output}");
    }

    /// <summary>The last <c>/health</c> answer after <paramref name="after"/>.</summary>
    public async Task<(HttpStatusCode Status, string Body)> Health(TimeSpan after)
    {
        await Task.Delay(after);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync("/health");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits for the process to end and for its output to be read to the end.</summary>
    public async Task<(HttpStatusCode Status, string Body)> Alive()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync("/alive");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit();
        return true;
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL: the process gets no chance to flush, commit or leave the group.</summary>
    public void KillNine()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public string Output => $"--- {Name} ---{Environment.NewLine}{string.Join(Environment.NewLine, _output.TakeLast(60))}";

    /// <summary>
    /// Whether the process prints a line containing <paramref name="text"/> (or already has, among
    /// the lines kept) within <paramref name="timeout"/>: a line a flood of others would push out
    /// of <see cref="Output"/> is still seen.
    /// </summary>
    public async Task<bool> PrintsAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _watches.Add((text, seen));
        if (_output.Any(line => line.Contains(text, StringComparison.Ordinal)))
        {
            return true;
        }

        try
        {
            await seen.Task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        KillNine();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        foreach (var (text, seen) in _watches)
        {
            if (line.Contains(text, StringComparison.Ordinal))
            {
                seen.TrySetResult();
            }
        }

        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }
}
