using Pipeline.Contracts;
using Pipeline.Web.Api;

namespace Pipeline.Web.Live;

/// <summary>Whether the page shows live figures.</summary>
public enum ConnectionState
{
    /// <summary>Not heard from the API yet.</summary>
    Connecting,

    /// <summary>The change stream is open, the API answers and it hears the sink's changes.</summary>
    Live,

    /// <summary>Something on the way is out of reach; the page keeps its last figures and tries again.</summary>
    Reconnecting,
}

/// <summary>
/// What the whole web app knows of the pipeline right now, shared by every open page: the change
/// stream's changes as they arrive, the last status the API reported, and from both whether the
/// page is live. Pages subscribe to <see cref="ChangeReceived"/> and <see cref="Changed"/>; a
/// page opened later reads the current state from the properties.
/// </summary>
public sealed class PipelineConnection(TimeProvider time)
{
    private readonly Lock _gate = new();
    private bool _streamOpen;
    private string? _streamProblem = "Opening the change stream.";
    private string? _apiProblem = "Waiting for the API's status.";
    private bool _everLive;
    private long _missedChanges;

    /// <summary>Raised, on the thread that read it, for every change from the stream.</summary>
    public event Action<AggregateChange>? ChangeReceived;

    /// <summary>
    /// Raised, on the thread that read it, when the API dropped changes this app's stream fell
    /// behind on: the figures pages hold may be stale, and they read them again.
    /// </summary>
    public event Action? ChangesMissed;

    /// <summary>Raised when <see cref="State"/>, <see cref="Status"/> or the freshness figures change.</summary>
    public event Action? Changed;

    public ConnectionState State { get; private set; } = ConnectionState.Connecting;

    /// <summary>Why the page is not live; null while it is.</summary>
    public string? Reason { get; private set; } = "Opening the change stream.";

    /// <summary>When <see cref="State"/> last changed.</summary>
    public DateTimeOffset StateSince { get; private set; } = time.GetUtcNow();

    /// <summary>The last status the API answered; kept while it cannot be read.</summary>
    public PipelineStatus? Status { get; private set; }

    /// <summary>When the last change arrived.</summary>
    public DateTimeOffset? LastChangeAt { get; private set; }

    /// <summary>
    /// End-to-end freshness as this page sees it: from the processor's update of an aggregate
    /// (its <c>updatedAt</c>) to the change reaching this app through the sink, PostgreSQL and the API.
    /// </summary>
    public TimeSpan? LastChangeDelay { get; private set; }

    /// <summary>How many times the page went from reconnecting back to live.</summary>
    public int Reconnections { get; private set; }

    /// <summary>How many changes the API dropped from this app's stream since it started.</summary>
    public long MissedChanges => Interlocked.Read(ref _missedChanges);

    public void StreamOpened() => Update(() => (_streamOpen, _streamProblem) = (true, null));

    public void StreamLost(string reason) => Update(() => (_streamOpen, _streamProblem) = (false, reason));

    public void StatusRead(PipelineStatus status) => Update(() =>
    {
        Status = status;
        _apiProblem = status.ChangeStreamListening() ? null : "The database is out of reach: the API's change stream is reconnecting.";
    });

    public void StatusFailed(string reason) => Update(() => _apiProblem = reason);

    public void Publish(AggregateChange change)
    {
        var now = time.GetUtcNow();
        LastChangeAt = now;
        LastChangeDelay = now - change.UpdatedAt;
        ChangeReceived?.Invoke(change);
    }

    /// <summary>The API's <c>dropped</c> event: it lost <paramref name="count"/> changes for this stream.</summary>
    public void ChangesDropped(long count)
    {
        Interlocked.Add(ref _missedChanges, count);
        ChangesMissed?.Invoke();
        Changed?.Invoke();
    }

    private void Update(Action change)
    {
        lock (_gate)
        {
            change();
            var reason = _apiProblem ?? _streamProblem;
            var state = reason is null && _streamOpen ? ConnectionState.Live : _everLive ? ConnectionState.Reconnecting : ConnectionState.Connecting;
            if (state != State)
            {
                if (state == ConnectionState.Live && _everLive)
                {
                    Reconnections++;
                }

                _everLive |= state == ConnectionState.Live;
                StateSince = time.GetUtcNow();
                State = state;
            }

            Reason = reason;
        }

        // Raised even when the state holds: the status figures change on every read.
        Changed?.Invoke();
    }
}
