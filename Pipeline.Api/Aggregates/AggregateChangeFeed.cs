using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Pipeline.Contracts;

namespace Pipeline.Api.Aggregates;

/// <summary>
/// Hears of every aggregate change the sink commits, through PostgreSQL LISTEN on one dedicated
/// connection, and fans it out to the open event streams. The sink calls pg_notify in the
/// transaction that changes a row, so a change is announced exactly when it becomes visible to
/// queries, with no polling. Notifications sent while the connection is down are not replayed:
/// the stream is a live view, and the query endpoints hold the state.
/// </summary>
public sealed partial class AggregateChangeFeed(NpgsqlDataSource dataSource, IOptions<ChangeStreamOptions> options, ILogger<AggregateChangeFeed> logger)
    : BackgroundService, IHealthCheck
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    // Notifications wait here for the fan-out, so the connection's reader never does that work.
    private const int PendingNotifications = 1024;

    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentDictionary<Subscription, byte> _subscriptions = new();
    private readonly Lock _subscribing = new();
    private readonly Channel<string> _notifications = Channel.CreateBounded<string>(new BoundedChannelOptions(PendingNotifications)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    private volatile bool _listening;

    /// <summary>How many streams are open.</summary>
    public int SubscriberCount => _subscriptions.Count;

    /// <summary>
    /// Starts a subscription at once (not when the stream is first read), and returns its events:
    /// a heartbeat, then every change of <paramref name="key"/> (or of every key), with a
    /// heartbeat whenever nothing happened for <see cref="HeartbeatInterval"/>. Null when
    /// <paramref name="caller"/> already has <see cref="ChangeStreamOptions.MaxOpenPerKey"/> streams
    /// open, or all callers <see cref="ChangeStreamOptions.MaxOpen"/>. The subscription ends when
    /// the stream is read to its end or when <paramref name="response"/> is over, whichever is first.
    /// </summary>
    public IAsyncEnumerable<SseItem<string>>? TrySubscribe(string? key, string caller, HttpResponse response)
    {
        var settings = options.Value;
        Subscription subscription;
        lock (_subscribing)
        {
            if (_subscriptions.Count >= settings.MaxOpen
                || _subscriptions.Keys.Count(open => open.Caller == caller) >= settings.MaxOpenPerKey)
            {
                return null;
            }

            subscription = new Subscription(this, key, caller, settings.QueueCapacity);
            _subscriptions.TryAdd(subscription, 0);
        }

        response.RegisterForDispose(subscription);
        return ReadAsync(subscription, CancellationToken.None);
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_listening
            ? HealthCheckResult.Healthy($"Listening; {SubscriberCount} open streams.")
            : HealthCheckResult.Degraded("Not listening for aggregate changes; event streams are quiet until the connection is back."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var fanOut = Task.Run(() => FanOutAsync(stoppingToken), CancellationToken.None);
        try
        {
            await ListenUntilStoppedAsync(stoppingToken);
        }
        finally
        {
            _notifications.Writer.TryComplete();
            await fanOut;
        }
    }

    private async Task FanOutAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var payload in _notifications.Reader.ReadAllAsync(stoppingToken))
            {
                Publish(payload);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ListenUntilStoppedAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested
                && exception is NpgsqlException or IOException or SocketException or TimeoutException or InvalidOperationException)
            {
                _listening = false;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(failures++, 10))));
                LogListenFailed(logger, exception, delay);
                await Task.Delay(delay, stoppingToken);
            }
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
        connection.Notification += (_, notification) =>
        {
            if (!_subscriptions.IsEmpty)
            {
                _notifications.Writer.TryWrite(notification.Payload);
            }
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {AggregateChangeNotifications.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        _listening = true;
        LogListening(logger, AggregateChangeNotifications.Channel);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // A quiet connection is probed now and then, so a dead one is noticed and replaced.
                if (!await connection.WaitAsync(KeepAlive, stoppingToken))
                {
                    await using var probe = new NpgsqlCommand("SELECT 1", connection);
                    await probe.ExecuteScalarAsync(stoppingToken);
                }
            }
        }
        finally
        {
            _listening = false;
        }
    }

    private void Publish(string payload)
    {
        // Each notification carries a JSON array of changes (the sink packs several into one).
        AggregateRecord[] changes;
        try
        {
            changes = AggregateChangeNotifications.Read(payload);
        }
        catch (JsonException exception)
        {
            LogUnreadableNotification(logger, exception);
            return;
        }

        foreach (var change in changes)
        {
            var json = JsonSerializer.Serialize(AggregateChange.From(change), Json);
            foreach (var subscription in _subscriptions.Keys)
            {
                if (subscription.Key is null || subscription.Key == change.Key)
                {
                    subscription.Changes.Writer.TryWrite(json);
                }
            }
        }
    }

    private async IAsyncEnumerable<SseItem<string>> ReadAsync(Subscription subscription, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            // Sent at once, so the client sees the stream open before the first change.
            yield return Heartbeat();
            var reader = subscription.Changes.Reader;
            Task<bool>? changeReady = null;
            while (true)
            {
                changeReady ??= reader.WaitToReadAsync(cancellationToken).AsTask();
                using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    var finished = await Task.WhenAny(changeReady, Task.Delay(HeartbeatInterval, quiet.Token));
                    await quiet.CancelAsync();
                    if (finished != changeReady)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        yield return Heartbeat();
                        continue;
                    }
                }

                if (!await changeReady)
                {
                    yield break;
                }

                changeReady = null;
                while (reader.TryRead(out var change))
                {
                    if (subscription.TakeDropped() is > 0 and var dropped)
                    {
                        // Before the changes that came after them: the client re-reads what it follows.
                        LogChangesDropped(logger, dropped, subscription.Key ?? "(every key)");
                        yield return new SseItem<string>(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{\"dropped\":{dropped}}}"), "dropped");
                    }

                    yield return new SseItem<string>(change, "aggregate");
                }
            }
        }
        finally
        {
            _subscriptions.TryRemove(subscription, out _);
        }
    }

    private static SseItem<string> Heartbeat() => new(DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture), "heartbeat");

    /// <summary>
    /// One open stream's queue. A client that falls more than its capacity behind loses its oldest
    /// pending changes rather than hold up anyone else, and is told how many with a <c>dropped</c>
    /// event before the next change it gets. A class, not a record: two streams of one caller and
    /// key are two subscriptions.
    /// </summary>
    private sealed class Subscription : IDisposable
    {
        private readonly AggregateChangeFeed _feed;
        private int _dropped;

        public Subscription(AggregateChangeFeed feed, string? key, string caller, int capacity)
        {
            _feed = feed;
            Key = key;
            Caller = caller;
            Changes = Channel.CreateBounded<string>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                _ => Interlocked.Increment(ref _dropped));
        }

        public string? Key { get; }

        public string Caller { get; }

        public Channel<string> Changes { get; }

        /// <summary>How many changes were dropped since the last call.</summary>
        public int TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

        public void Dispose() => _feed._subscriptions.TryRemove(this, out _);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for aggregate changes on channel {Channel}.")]
    private static partial void LogListening(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for aggregate changes failed; trying again in {Delay}.")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A change stream of {Key} fell more than Api:Streams:QueueCapacity changes behind and lost its {Dropped} oldest; it is told so with a 'dropped' event.")]
    private static partial void LogChangesDropped(ILogger logger, int dropped, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "An aggregate change notification could not be read; skipped.")]
    private static partial void LogUnreadableNotification(ILogger logger, Exception exception);
}
