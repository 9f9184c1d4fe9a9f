using System.Net.ServerSentEvents;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Pipeline.Contracts;
using Pipeline.Web.Api;
using Polly;
using Polly.Retry;

namespace Pipeline.Web.Live;

/// <summary>
/// Keeps one change stream (<c>GET /api/aggregates/stream</c>, all keys) open for the whole app
/// and hands each change to <see cref="PipelineConnection"/>. A stream that fails, ends, or stays
/// silent past <see cref="PipelineApiOptions.StreamSilenceLimit"/> is opened again with back-off.
/// Changes are not replayed, so pages reload their figures whenever the page becomes live again,
/// and when the API says (a <c>dropped</c> event) that it dropped changes the stream fell behind on.
/// </summary>
internal sealed partial class AggregateStreamWorker(
    IHttpClientFactory httpClients, PipelineConnection connection, IOptions<PipelineApiOptions> options, ILogger<AggregateStreamWorker> logger)
    : BackgroundService
{
    public const string HttpClientName = "pipeline-api-stream";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reconnect = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(exception => !stoppingToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(5),
                OnRetry = retry =>
                {
                    var reason = retry.Outcome.Exception?.Message ?? "The change stream ended.";
                    connection.StreamLost(reason);
                    LogStreamLost(logger, reason, retry.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        try
        {
            await reconnect.ExecuteAsync(ReadStreamAsync, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async ValueTask ReadStreamAsync(CancellationToken stoppingToken)
    {
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        silence.CancelAfter(options.Value.StreamSilenceLimit);
        try
        {
            var http = httpClients.CreateClient(HttpClientName);
            using var request = new HttpRequestMessage(HttpMethod.Get, PipelineApiClient.StreamPath);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, silence.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new PipelineUnavailableException($"The change stream answered {(int)response.StatusCode}.");
            }

            await using var body = await response.Content.ReadAsStreamAsync(silence.Token);
            connection.StreamOpened();
            LogStreamOpened(logger);
            await foreach (var item in SseParser.Create(body).EnumerateAsync(silence.Token))
            {
                silence.CancelAfter(options.Value.StreamSilenceLimit);
                if (item.EventType == "aggregate" && JsonSerializer.Deserialize<AggregateChange>(item.Data, Json) is { } change)
                {
                    connection.Publish(change);
                }
                else if (item.EventType == "dropped" && JsonSerializer.Deserialize<DroppedChanges>(item.Data, Json) is { Dropped: > 0 } dropped)
                {
                    LogChangesDropped(logger, dropped.Dropped);
                    connection.ChangesDropped(dropped.Dropped);
                }
            }
        }
        catch (OperationCanceledException) when (silence.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            throw new PipelineUnavailableException("The change stream went silent.");
        }
        catch (HttpRequestException exception)
        {
            throw new PipelineUnavailableException("The API is out of reach.", exception);
        }

        throw new PipelineUnavailableException("The change stream ended.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The API dropped {Dropped} changes this app's stream fell behind on; the pages read their figures again.")]
    private static partial void LogChangesDropped(ILogger logger, long dropped);

    [LoggerMessage(Level = LogLevel.Information, Message = "Change stream open.")]
    private static partial void LogStreamOpened(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Change stream lost ({Reason}); opening it again in {Delay}.")]
    private static partial void LogStreamLost(ILogger logger, string reason, TimeSpan delay);
}

/// <summary>The data of the change stream's <c>dropped</c> event.</summary>
internal sealed record DroppedChanges(long Dropped);
