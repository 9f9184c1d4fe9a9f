using System.Globalization;
using Pipeline.Contracts;
using Pipeline.Web.Api;

namespace Pipeline.Web.Components.Panels;

/// <summary>One slot of a chart: a window start, and the figure of its window split by whether it is final.</summary>
public sealed record WindowPoint(DateTimeOffset Start, string Label, double Final, double Open, WindowItem? Window);

/// <summary>
/// A key's windows of one size over a span ending now, kept up to date from the change stream.
/// Every slot of the span is a point (empty windows count zero), so the chart's axis is real time.
/// </summary>
public sealed class WindowSeries(TimeSpan size, int slots)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<DateTimeOffset, WindowItem> _windows = [];

    public TimeSpan Size { get; } = size;

    public int Slots { get; } = slots;

    /// <summary>The window name the API and the stream use: <c>1m</c> or <c>1h</c>.</summary>
    public string Name => Size.TotalHours >= 1 ? $"{Size.TotalHours:0}h" : $"{Size.TotalMinutes:0}m";

    /// <summary>Where the span starts for windows read from the API.</summary>
    public DateTimeOffset SpanStart(DateTimeOffset now) => Floor(now) - (Slots - 1) * Size;

    public void Replace(IEnumerable<WindowItem> windows)
    {
        lock (_gate)
        {
            _windows.Clear();
            foreach (var window in windows)
            {
                _windows[window.WindowStart] = window;
            }
        }
    }

    /// <summary>Takes a window from the stream unless a newer state of it is already held.</summary>
    public void Apply(WindowItem window)
    {
        lock (_gate)
        {
            if (!_windows.TryGetValue(window.WindowStart, out var held) || Newer(window, held))
            {
                _windows[window.WindowStart] = window;
            }
        }
    }

    public IReadOnlyList<WindowPoint> Points(DateTimeOffset now, Func<WindowItem, double> figure)
    {
        var first = SpanStart(now);
        var format = Size.TotalHours >= 1 ? "dd HH:mm" : "HH:mm";
        lock (_gate)
        {
            var points = new List<WindowPoint>(Slots);
            for (var i = 0; i < Slots; i++)
            {
                var start = first + i * Size;
                var label = start.UtcDateTime.ToString(format, CultureInfo.InvariantCulture);
                points.Add(_windows.TryGetValue(start, out var window)
                    ? new WindowPoint(start, label, window.Final ? figure(window) : 0, window.Final ? 0 : figure(window), window)
                    : new WindowPoint(start, label, 0, 0, null));
            }

            return points;
        }
    }

    private DateTimeOffset Floor(DateTimeOffset instant) =>
        new(instant.UtcTicks - instant.UtcTicks % Size.Ticks, TimeSpan.Zero);

    // A final state is never replaced by an open one; otherwise the later update wins.
    private static bool Newer(WindowItem candidate, WindowItem held) =>
        !held.Final && (candidate.Final || candidate.UpdatedAt >= held.UpdatedAt);
}
