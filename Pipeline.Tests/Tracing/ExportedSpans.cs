namespace Pipeline.Tests.Tracing;

/// <summary>
/// What one host's OpenTelemetry tracer exported, for the SDK's in-memory exporter. The exporter
/// adds from the threads that end spans while the test reads, so every access takes a lock.
/// </summary>
internal sealed class ExportedSpans : ICollection<Activity>
{
    private readonly Lock _gate = new();
    private readonly List<Activity> _spans = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _spans.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    /// <summary>The spans of one trace exported so far. Other tests share the process, and their spans are exported here too.</summary>
    public IReadOnlyList<Activity> InTrace(ActivityTraceId traceId)
    {
        lock (_gate)
        {
            return _spans.Where(span => span.TraceId == traceId).ToList();
        }
    }

    /// <summary>Spans of any trace that link to a span of <paramref name="traceId"/>.</summary>
    public IReadOnlyList<Activity> LinkingTo(ActivityTraceId traceId)
    {
        lock (_gate)
        {
            return _spans.Where(span => span.Links.Any(link => link.Context.TraceId == traceId)).ToList();
        }
    }

    public void Add(Activity item)
    {
        lock (_gate)
        {
            _spans.Add(item);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _spans.Clear();
        }
    }

    public bool Contains(Activity item)
    {
        lock (_gate)
        {
            return _spans.Contains(item);
        }
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (_gate)
        {
            _spans.CopyTo(array, arrayIndex);
        }
    }

    public bool Remove(Activity item)
    {
        lock (_gate)
        {
            return _spans.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator()
    {
        lock (_gate)
        {
            return _spans.ToList().GetEnumerator();
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
