using System.Globalization;
using System.Text;

namespace Pipeline.LoadGenerator;

/// <summary>What a run did, for people (text) and scripts (JSON).</summary>
internal sealed class LoadSummary(LoadOptions options, LoadStatistics statistics, Truth truth, TimeSpan sendingTook, Verification? verification)
{
    private const int MismatchesShown = 50;

    public object ToJson() => new
    {
        api = options.Api.ToString(),
        keyPrefix = options.KeyPrefix,
        seconds = Math.Round(sendingTook.TotalSeconds, 3),
        requests = statistics.Requests,
        sentEvents = statistics.SentEvents,
        acceptedEvents = statistics.AcceptedEvents,
        distinctAcceptedEvents = truth.AcceptedEvents,
        eventsPerSecond = Math.Round(statistics.AcceptedEvents / Math.Max(sendingTook.TotalSeconds, 0.001), 1),
        requestsByStatus = statistics.ByStatus.OrderBy(s => s.Key).ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
        heldBackPastMaxWait = statistics.HeldBackPastMaxWait == 0 ? null : new { events = statistics.HeldBackPastMaxWait, by = statistics.HeldBackBy, maxWaitSeconds = options.MaxWait.TotalSeconds },
        latencyMs = new { p50 = statistics.LatencyMilliseconds(50), p99 = statistics.LatencyMilliseconds(99), max = statistics.LatencyMilliseconds(100) },
        verification = verification is null ? null : new
        {
            passed = verification.Passed,
            keysChecked = verification.KeysChecked,
            windowsChecked = verification.WindowsChecked,
            keysLeftOut = verification.KeysLeftOut,
            settledAfterSeconds = Math.Round(verification.SettledAfter.TotalSeconds, 1),
            mismatchCount = verification.Mismatches.Count,
            mismatches = verification.Mismatches.Take(MismatchesShown).Select(m => m.ToString()).ToList(),
        },
    };

    public string ToText()
    {
        var text = new StringBuilder();
        var seconds = Math.Max(sendingTook.TotalSeconds, 0.001);
        text.AppendLine(CultureInfo.InvariantCulture, $"Sent {statistics.SentEvents} events in {statistics.Requests} requests over {sendingTook.TotalSeconds:F1} s; accepted {statistics.AcceptedEvents} ({statistics.AcceptedEvents / seconds:F0} events/s), {truth.AcceptedEvents} distinct ids.");
        text.AppendLine("Requests by status: " + string.Join(", ", statistics.ByStatus.OrderBy(s => s.Key)
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{(s.Key == 0 ? "no answer" : s.Key.ToString(CultureInfo.InvariantCulture))}: {s.Value}"))));
        if (statistics.HeldBackPastMaxWait > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"STOPPED EARLY: the API still held a request of {statistics.HeldBackPastMaxWait} events back ({statistics.HeldBackBy}) after --max-wait {options.MaxWait.TotalSeconds:F0} s, so the run sent nothing more: the pipeline is not keeping up.");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"Latency: p50 {statistics.LatencyMilliseconds(50):F1} ms, p99 {statistics.LatencyMilliseconds(99):F1} ms, max {statistics.LatencyMilliseconds(100):F1} ms.");
        if (verification is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"Verification {(verification.Passed ? "PASSED" : "FAILED")}: {verification.KeysChecked} keys and {verification.WindowsChecked} windows checked after {verification.SettledAfter.TotalSeconds:F0} s, {verification.Mismatches.Count} mismatches, {verification.KeysLeftOut} keys left out (events of unknown fate).");
            foreach (var mismatch in verification.Mismatches.Take(MismatchesShown))
            {
                text.AppendLine("  " + mismatch);
            }

            if (verification.Mismatches.Count > MismatchesShown)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  ... and {verification.Mismatches.Count - MismatchesShown} more");
            }
        }

        return text.ToString().TrimEnd();
    }
}
