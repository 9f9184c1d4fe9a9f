using System.Diagnostics;

namespace Pipeline.Api.Http;

/// <summary>
/// The API's one ActivitySource and the name of its one Meter (created through
/// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> so that each host, tests included, has its own).
/// ServiceDefaults exports both through its <c>Pipeline.*</c> wildcard.
/// </summary>
public static class ApiTelemetry
{
    /// <summary>The name of the ActivitySource and the Meter.</summary>
    public const string Name = "Pipeline.Api";

    /// <summary>Spans the API starts itself (ASP.NET Core's own request spans come from its instrumentation).</summary>
    public static readonly ActivitySource ActivitySource = new(Name);
}
