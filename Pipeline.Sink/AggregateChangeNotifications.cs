namespace Pipeline.Sink;

/// <summary>
/// The sink announces every row it changes on this PostgreSQL notification channel, in the
/// transaction that changes it, so a listener hears of a change exactly when it becomes
/// visible. The payload is a JSON object with the aggregate's identity and figures (key,
/// window, windowStart, windowEnd, count, sum, min, max, mean, final, version, updatedAt).
/// Pipeline.Api listens on the same name.
/// </summary>
internal static class AggregateChangeNotifications
{
    public const string Channel = "pipeline_aggregate_changes";
}
