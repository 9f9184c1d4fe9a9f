using System.Globalization;
using System.Threading.RateLimiting;
using Confluent.Kafka;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pipeline.Api.Http;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Api.Events;

/// <summary>
/// One ingest request, start to end: read the body (415, 413), parse and validate every event
/// (400) before producing any, refuse them all while the pipeline is too far behind (503
/// backlog-full), produce them all, and wait for the broker (503 for any event not acknowledged
/// within the produce timeout). Counts what it accepts and rejects.
/// </summary>
internal sealed class EventIngest(
    EventProducer producer,
    BacklogMonitor backlog,
    EventRateLimiter eventLimiter,
    IOptions<IngestOptions> options,
    IOptions<BacklogOptions> backlogOptions,
    IOptions<ApiRateLimitOptions> rateLimits,
    IngestMetrics metrics,
    TimeProvider time)
{
    private const string RetryAdvice =
        "Retry the events listed in notAcknowledged, with the same ids, after Retry-After seconds: the stream processor counts an id once.";

    /// <summary>Ingests one request to <paramref name="endpoint"/>: 202 with <paramref name="accepted"/>'s answer once every event is acknowledged, else the problem.</summary>
    public async Task<Results<Accepted<TAccepted>, ProblemHttpResult>> IngestAsync<TAccepted>(
        HttpRequest request, IngestEndpoint endpoint, Func<ProduceOutcome, TAccepted> accepted)
    {
        var started = time.GetTimestamp();
        try
        {
            return await IngestCoreAsync(request, endpoint, accepted);
        }
        finally
        {
            metrics.Ingested(endpoint.Name, time.GetElapsedTime(started));
        }
    }

    private async Task<Results<Accepted<TAccepted>, ProblemHttpResult>> IngestCoreAsync<TAccepted>(
        HttpRequest request, IngestEndpoint endpoint, Func<ProduceOutcome, TAccepted> accepted)
    {
        var settings = options.Value;
        var rules = new EventRules(time.GetUtcNow(), settings.MaxEventAge, settings.MaxClockSkew, settings.MaxBatchSize);

        var read = await RequestBody.ReadAsync(request, endpoint.MediaTypes, settings.MaxBodyBytes, request.HttpContext.RequestAborted);
        if (!read.Succeeded)
        {
            metrics.Rejected(endpoint.Name, ApiProblems.CodeOf(read.Problem), 1);
            return read.Problem;
        }

        ParsedEvents parsed;
        using (read.Body)
        {
            parsed = endpoint.Parse(read.Body, rules);
        }

        if (Refuse(parsed, endpoint, settings) is { } invalid)
        {
            metrics.Rejected(endpoint.Name, ApiProblems.CodeOf(invalid), parsed.EventCount);
            return invalid;
        }

        // Counted once the events are known to be valid: a refused request costs no event tokens.
        using var lease = eventLimiter.Acquire(request.HttpContext.User, parsed.EventCount);
        if (!lease.IsAcquired)
        {
            metrics.Rejected(endpoint.Name, ErrorCodes.RateLimited, parsed.EventCount);
            var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(1);
            var seconds = ApiRateLimiting.RetryAfterSeconds(wait);
            var budget = rateLimits.Value.Events;
            request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return ApiProblems.Problem(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited,
                "Too many events for this API key.",
                string.Create(CultureInfo.InvariantCulture,
                    $"This API key may send {budget.TokensPerPeriod} events every {budget.ReplenishmentPeriod.TotalSeconds:0.###} s, in bursts of up to {budget.TokenLimit}; nothing of these {parsed.EventCount} events was produced. Send them again after {seconds} s."));
        }

        if (backlog.Check() is { } full)
        {
            metrics.Rejected(endpoint.Name, ErrorCodes.BacklogFull, parsed.EventCount);
            request.HttpContext.Response.Headers.RetryAfter = backlogOptions.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.BacklogFull,
                "The pipeline is too far behind to take more events now.",
                string.Create(CultureInfo.InvariantCulture,
                    $"{full.Waiting} records wait on {full.Topic}[{full.Partition}] for {full.Group} (the limit is {full.Limit} per partition); nothing was produced. Send the same request again after Retry-After seconds."));
        }

        ProduceOutcome outcome;
        try
        {
            outcome = await producer.ProduceAsync(parsed.Events, endpoint.Name);
        }
        catch (SchemaRegistryUnavailableException)
        {
            // The producer readies the events' schema (PrepareEventWritesAsync) before it hands any
            // event to librdkafka, so this comes before anything is produced.
            metrics.Rejected(endpoint.Name, ErrorCodes.SchemaRegistryUnavailable, parsed.EventCount);
            request.HttpContext.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.SchemaRegistryUnavailable,
                "The Schema Registry cannot be reached to write the events.",
                "The events' schema could not be registered or looked up; nothing was produced. Send the same request again after Retry-After seconds.");
        }

        backlog.Accepted(outcome);
        metrics.Accepted(endpoint.Name, outcome.AcknowledgedCount);
        if (outcome.AllAcknowledged)
        {
            return TypedResults.Accepted((string?)null, accepted(outcome));
        }

        var notAcknowledged = outcome.NotAcknowledged();
        metrics.Rejected(endpoint.Name, ErrorCodes.EventsNotAcknowledged, notAcknowledged.Count);
        request.HttpContext.Response.Headers.RetryAfter = settings.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        var problem = new EventsNotAcknowledgedProblem
        {
            Status = StatusCodes.Status503ServiceUnavailable,
            Title = "The broker did not acknowledge every event in time.",
            Detail = string.Create(CultureInfo.InvariantCulture,
                $"{notAcknowledged.Count} of {outcome.Events.Count} events were not acknowledged within {settings.ProduceTimeout.TotalSeconds:0.###} s; they may or may not be in Kafka. The {outcome.AcknowledgedCount} acknowledged events are in Kafka. {RetryAdvice}"),
            NotAcknowledged = notAcknowledged,
            Acknowledged = outcome.AcknowledgedCount,
        };
        return TypedResults.Problem(ApiProblems.WithCode(problem, ErrorCodes.EventsNotAcknowledged));
    }

    private static ProblemHttpResult? Refuse(ParsedEvents parsed, IngestEndpoint endpoint, IngestOptions settings) => parsed.Failure switch
    {
        ParseFailure.None => null,
        ParseFailure.MalformedJson => ApiProblems.Problem(StatusCodes.Status400BadRequest, ErrorCodes.MalformedJson,
            "The body is not valid JSON.", parsed.Detail),
        ParseFailure.EmptyBody => ApiProblems.Problem(StatusCodes.Status400BadRequest, ErrorCodes.EmptyBody,
            "The request body is empty.", endpoint.EmptyBodyAdvice),
        ParseFailure.EmptyBatch => ApiProblems.Problem(StatusCodes.Status400BadRequest, ErrorCodes.EmptyBatch,
            "The batch holds no event.", "Send at least one event."),
        ParseFailure.BatchTooLarge => ApiProblems.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BatchTooLarge,
            "The batch holds too many events.",
            string.Create(CultureInfo.InvariantCulture, $"A batch may hold at most {settings.MaxBatchSize} events; nothing was produced.")),
        _ => TypedResults.Problem(parsed.Errors.ToProblem(string.Create(CultureInfo.InvariantCulture,
            $"{parsed.Errors.Count} error(s) in a request of {parsed.EventCount} event(s); nothing was produced."))),
    };
}

/// <summary>Registers ingest: its options, the idempotent producer, and the services behind the events endpoints.</summary>
public static class EventIngestExtensions
{
    /// <summary>
    /// The producer's <c>linger.ms</c> unless <c>Kafka:Producer:linger.ms</c> says otherwise
    /// (librdkafka's own default is 5). Every request waits for its own delivery reports, so a
    /// record's linger is paid by its request: at 5 ms it was the largest part of a single event's
    /// time in the API. Records still go in batches under load: whatever queues while produce
    /// requests are in flight (up to 5 with idempotence) goes out together. bench/Ingest measures both.
    /// </summary>
    public const int DefaultLingerMs = 0;

    public static IHostApplicationBuilder AddEventIngest(this IHostApplicationBuilder builder)
    {
        IngestOptions.Register(builder.Services);
        BacklogOptions.Register(builder.Services);

        // The producer is configured once, at start-up, from the same section the options bind.
        var ingest = builder.Configuration.GetSection(IngestOptions.SectionName).Get<IngestOptions>() ?? new IngestOptions();
        builder.AddKafkaProducer<string, byte[]>(configure: config =>
        {
            // What a 202 promises: the record is on every in-sync replica, written exactly once.
            config.EnableIdempotence = true;
            config.Acks = Acks.All;
            // librdkafka gives up on a record about when the API stops waiting for it. A record
            // still queued in the process is then certainly not written (NotPersisted); one already
            // on the wire may have been (PossiblyPersisted). Hence "may or may not" in a 503.
            config.MessageTimeoutMs = (int)ingest.ProduceTimeout.TotalMilliseconds;
            config.ClientId ??= "pipeline-api";
            // After an outage, reconnect within a couple of seconds rather than librdkafka's 10 s.
            config.ReconnectBackoffMaxMs ??= 2000;
            // Delivery reports need only the outcome and the partition and offset.
            config.DeliveryReportFields = "status";
            config.LingerMs ??= DefaultLingerMs;
        });

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IngestMetrics>();
        builder.AddPipelineRecordFormat();
        builder.Services.AddSingleton<EventProducer>();
        builder.Services.AddSingleton<EventIngest>();
        builder.Services.AddSingleton<BacklogMonitor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BacklogMonitor>());
        return builder;
    }
}
