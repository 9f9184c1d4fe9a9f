using System.Diagnostics;

namespace Pipeline.Web;

/// <summary>The web app's one ActivitySource (exported through ServiceDefaults' <c>Pipeline.*</c> wildcard).</summary>
public static class WebTelemetry
{
    public const string Name = "Pipeline.Web";

    /// <summary>Spans for what a user does on the page, such as sending a test event, so its trace starts here.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);
}
