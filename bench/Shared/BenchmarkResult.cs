// The figures one benchmark program hands to bench/run: written as JSON to the file named by
// `--json <file>`, next to (never instead of) the program's own human-readable output.
// Linked into each bench project; bench/run reads the files and prints one table.
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Pipeline.Bench;

/// <summary>One measured figure, and the baseline measured beside it in the same run, if there is one.</summary>
internal sealed record BenchmarkFigure(string What, double Value, string Unit, string? Baseline, double? BaselineValue);

/// <summary>What a benchmark run measured, on what, and whether it completed cleanly.</summary>
internal sealed class BenchmarkResult(string benchmark)
{
    private const string JsonOption = "--json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // a file for bench/run, not HTML: keep ` and ' readable
    };

    private readonly List<BenchmarkFigure> _figures = [];
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal)
    {
        ["dotnet"] = Environment.Version.ToString(),
        ["cores"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["build"] = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "unknown",
        ["allocator"] = NativeAllocator(),
    };

    /// <summary>A figure with no baseline in this run (a latency, say).</summary>
    public void Add(string what, double value, string unit) => _figures.Add(new BenchmarkFigure(what, value, unit, null, null));

    /// <summary>A figure and the baseline it is compared with; both must be in <paramref name="unit"/>.</summary>
    public void Add(string what, double value, string unit, string baseline, double baselineValue) =>
        _figures.Add(new BenchmarkFigure(what, value, unit, baseline, baselineValue));

    /// <summary>A fact about what the benchmark ran against, e.g. the librdkafka or PostgreSQL version.</summary>
    public void Describe(string name, string value) => _environment[name] = value;

    /// <summary>Writes the result to the file given with <c>--json</c>, if one was given.</summary>
    public void WriteIfRequested(string[] args, bool completed)
    {
        var index = Array.IndexOf(args, JsonOption);
        if (index < 0 || index + 1 >= args.Length)
        {
            return;
        }

        var path = Path.GetFullPath(args[index + 1]);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(
            new { benchmark, completed, environment = _environment, figures = _figures }, Json));
    }

    /// <summary>
    /// The C allocator librdkafka and the runtime's native code use in this process: glibc's malloc,
    /// unless another one was preloaded (<c>LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2</c>),
    /// which moves the producer's figures (Ingest/README.md).
    /// </summary>
    private static string NativeAllocator()
    {
        const string Mappings = "/proc/self/maps";
        if (!File.Exists(Mappings))
        {
            return "unknown";
        }

        var mapped = File.ReadAllText(Mappings);
        return ((string[])["jemalloc", "tcmalloc", "mimalloc"]).FirstOrDefault(name => mapped.Contains("lib" + name, StringComparison.Ordinal)) ?? "glibc malloc";
    }

    /// <summary>The arguments without <c>--json &lt;file&gt;</c>, for programs that read the rest by position.</summary>
    public static string[] WithoutJsonOption(string[] args)
    {
        var index = Array.IndexOf(args, JsonOption);
        return index < 0 ? args : [.. args.Take(index), .. args.Skip(index + 2)];
    }
}
