using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Pipeline.LoadGenerator;

/// <summary>One figure the pipeline serves that differs from the truth.</summary>
internal sealed record Mismatch(string Key, string Window, DateTimeOffset? WindowStart, string Field, string Expected, string Actual)
{
    public override string ToString() =>
        $"{Key} {Window}{(WindowStart is { } start ? " " + start.ToString("O") : "")} {Field}: expected {Expected}, served {Actual}";
}

/// <summary>The oracle's verdict.</summary>
internal sealed record Verification(int KeysChecked, int WindowsChecked, int KeysLeftOut, IReadOnlyList<Mismatch> Mismatches, TimeSpan SettledAfter)
{
    public bool Passed => Mismatches.Count == 0 && KeysChecked > 0;
}

/// <summary>
/// The correctness oracle: reads every aggregate of the run's keys back through the query API
/// and compares it with the <see cref="Truth"/>. It repeats the comparison until it holds or
/// the settle timeout passes, since the pipeline needs a moment to catch up.
/// </summary>
internal sealed class Verifier(HttpClient http, Truth truth, TimeSpan settleTimeout, TimeProvider time)
{
    private const int PageSize = 500;
    private const int MaxRateLimitWaits = 60;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<Verification> VerifyAsync(Action<string> progress, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var keys = truth.Totals.Keys.Where(key => !truth.UncertainKeys.Contains(key)).Order(StringComparer.Ordinal).ToList();
        while (true)
        {
            List<Mismatch> mismatches;
            int windowsChecked;
            try
            {
                (mismatches, windowsChecked) = await CompareAsync(keys, cancellationToken);
            }
            catch (HttpRequestException exception) when (exception.StatusCode == HttpStatusCode.ServiceUnavailable
                && time.GetUtcNow() - started < settleTimeout)
            {
                // The query API says its database is out of reach for now: part of settling.
                progress($"verify: the query API answered 503 ({exception.Message}); retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
                continue;
            }

            var elapsed = time.GetUtcNow() - started;
            if (mismatches.Count == 0 || elapsed >= settleTimeout)
            {
                return new(keys.Count, windowsChecked, truth.UncertainKeys.Count, mismatches, elapsed);
            }

            progress($"verify: {mismatches.Count} figure(s) differ after {elapsed.TotalSeconds:F0}s; waiting for the pipeline to settle (up to {settleTimeout.TotalSeconds:F0}s)");
            await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
        }
    }

    private async Task<(List<Mismatch> Mismatches, int WindowsChecked)> CompareAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var mismatches = new List<Mismatch>();
        var windowsChecked = 0;
        foreach (var key in keys)
        {
            var expected = truth.Totals[key];
            var served = await GetTotalsAsync(key, cancellationToken);
            if (served is null)
            {
                mismatches.Add(new(key, WindowSize.AllTime, null, "row", $"count {expected.Count}", "404 (never seen)"));
                continue;
            }

            Compare(mismatches, key, WindowSize.AllTime, null, expected, served.Count, served.Sum, served.Min, served.Max, served.Mean);

            foreach (var size in truth.Sizes.Keys)
            {
                var expectedWindows = truth.Windows.Where(w => w.Key.Key == key && w.Key.Size == size)
                    .ToDictionary(w => w.Key.Start, w => w.Value);
                var servedWindows = await GetWindowsAsync(key, size, cancellationToken);
                windowsChecked += expectedWindows.Count;
                foreach (var (start, figures) in expectedWindows)
                {
                    if (!servedWindows.TryGetValue(start, out var window))
                    {
                        mismatches.Add(new(key, size, start, "row", $"count {figures.Count}", "missing"));
                        continue;
                    }

                    Compare(mismatches, key, size, start, figures, window.Count, window.Sum, window.Min, window.Max, window.Mean);
                }

                foreach (var extra in servedWindows.Keys.Except(expectedWindows.Keys))
                {
                    mismatches.Add(new(key, size, extra, "row", "absent", $"count {servedWindows[extra].Count}"));
                }
            }
        }

        return (mismatches, windowsChecked);
    }

    // Values are multiples of 1/4, so count, sum, min and max are exact; the mean is a division.
    private static void Compare(List<Mismatch> mismatches, string key, string window, DateTimeOffset? start, Figures expected,
        long count, double sum, double min, double max, double mean)
    {
        void Check(string field, double want, double got, bool exact)
        {
            var equal = exact ? want.Equals(got) : Math.Abs(want - got) <= 1e-9 * Math.Max(1, Math.Abs(want));
            if (!equal)
            {
                mismatches.Add(new(key, window, start, field, Format(want), Format(got)));
            }
        }

        Check("count", expected.Count, count, exact: true);
        Check("sum", expected.Sum, sum, exact: true);
        Check("min", expected.Min, min, exact: true);
        Check("max", expected.Max, max, exact: true);
        Check("mean", expected.Mean, mean, exact: false);
    }

    private static string Format(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<ServedFigures?> GetTotalsAsync(string key, CancellationToken cancellationToken)
    {
        using var response = await GetWaitingOutRateLimitAsync($"api/aggregates/{Uri.EscapeDataString(key)}", cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<ServedFigures>(Json, cancellationToken);
    }

    private async Task<Dictionary<DateTimeOffset, ServedFigures>> GetWindowsAsync(string key, string size, CancellationToken cancellationToken)
    {
        var windows = new Dictionary<DateTimeOffset, ServedFigures>();
        string? cursor = null;
        do
        {
            var url = $"api/aggregates/{Uri.EscapeDataString(key)}/windows?size={Uri.EscapeDataString(size)}&limit={PageSize}"
                + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            using var response = await GetWaitingOutRateLimitAsync(url, cancellationToken);
            response.EnsureSuccessStatusCode();
            var page = await response.Content.ReadFromJsonAsync<WindowPage>(Json, cancellationToken)
                ?? throw new InvalidOperationException($"GET {url} answered no body.");
            foreach (var item in page.Items)
            {
                windows[item.WindowStart!.Value] = item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return windows;
    }

    /// <summary>
    /// A GET that waits out 429 (the API key's rate limit: checking thousands of keys is thousands
    /// of requests), as long as the API's Retry-After says, up to <see cref="MaxRateLimitWaits"/> times.
    /// </summary>
    private async Task<HttpResponseMessage> GetWaitingOutRateLimitAsync(string url, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await http.GetAsync(url, cancellationToken);
            if (response.StatusCode != HttpStatusCode.TooManyRequests || attempt >= MaxRateLimitWaits)
            {
                return response;
            }

            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            await Task.Delay(wait < TimeSpan.FromSeconds(10) ? wait : TimeSpan.FromSeconds(10), time, cancellationToken);
        }
    }

    private sealed record ServedFigures(long Count, double Sum, double Min, double Max, double Mean, DateTimeOffset? WindowStart);

    private sealed record WindowPage(IReadOnlyList<ServedFigures> Items, string? NextCursor);
}
