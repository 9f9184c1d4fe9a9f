using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Pipeline.ServiceDefaults.Telemetry;

/// <summary>
/// Decides for spans that start a trace: a client span with no parent (a health check's
/// <c>SELECT 1</c>, a retention job's <c>DELETE</c>, a keep-alive probe, a page's periodic read) is
/// background work that no request or message caused, so it is recorded but not exported, and the
/// dashboard's trace list keeps to the traces a user came to see. Everything else starts a trace as
/// before. Used as the root of a <see cref="ParentBasedSampler"/>: a span with a parent follows it,
/// and a downstream service called by unexported work (its <c>traceparent</c> says "not sampled")
/// leaves that request out too.
/// </summary>
public sealed class BackgroundWorkSampler : Sampler
{
    private static readonly SamplingResult Sample = new(SamplingDecision.RecordAndSample);
    private static readonly SamplingResult DoNotExport = new(SamplingDecision.RecordOnly);

    /// <inheritdoc />
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.Kind == ActivityKind.Client ? DoNotExport : Sample;
}
