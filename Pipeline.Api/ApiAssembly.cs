namespace Pipeline.Api;

/// <summary>
/// Marks the Pipeline.Api assembly, for <c>WebApplicationFactory&lt;ApiAssembly&gt;</c> in tests and
/// benchmarks: several referenced projects have a top-level <c>Program</c>, so that name is ambiguous.
/// </summary>
public sealed class ApiAssembly
{
    private ApiAssembly()
    {
    }
}
