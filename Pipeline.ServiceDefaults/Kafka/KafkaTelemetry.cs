using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Traces and metrics of every Kafka client in the pipeline, following the OpenTelemetry
/// messaging semantic conventions, and the W3C trace context carried in record headers so
/// that one event's spans join up across services.
/// </summary>
public static class KafkaTelemetry
{
    /// <summary>The name of the ActivitySource and Meter.</summary>
    public const string Name = "Pipeline.Kafka";

    /// <summary>Spans of produce and process operations.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>(
        "messaging.client.operation.duration", unit: "s", description: "Duration of a produce, from send to delivery report.");

    private static readonly Counter<long> SentMessages = Meter.CreateCounter<long>(
        "messaging.client.sent.messages", unit: "{message}", description: "Records the broker acknowledged.");

    private static readonly Counter<long> ConsumedMessages = Meter.CreateCounter<long>(
        "messaging.client.consumed.messages", unit: "{message}", description: "Records handed to the application.");

    // W3C trace context and baggage, set here rather than taken from the SDK's default so that
    // headers are written the same way in every process, tests included.
    private static readonly TextMapPropagator Propagator =
        new CompositeTextMapPropagator([new TraceContextPropagator(), new BaggagePropagator()]);

    /// <summary>
    /// Produces one record inside a <c>send {topic}</c> producer span, with the current trace
    /// context written into the record headers, and returns once the broker acknowledged it.
    /// </summary>
    public static async Task<DeliveryResult<TKey, TValue>> ProduceTracedAsync<TKey, TValue>(
        this IProducer<TKey, TValue> producer,
        string topic,
        Message<TKey, TValue> message,
        CancellationToken cancellationToken = default)
    {
        using var activity = ActivitySource.StartSendActivity(topic);
        activity?.SetTag("messaging.client.id", producer.Name);

        message.Headers ??= [];
        InjectTraceContext(activity?.Context ?? Activity.Current?.Context ?? default, message.Headers);

        var started = Stopwatch.GetTimestamp();
        var tags = new TagList
        {
            { "messaging.system", "kafka" },
            { "messaging.operation.name", "send" },
            { "messaging.destination.name", topic },
        };
        try
        {
            var result = await producer.ProduceAsync(topic, message, cancellationToken);
            activity?.SetTag("messaging.destination.partition.id", result.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity?.SetTag("messaging.kafka.offset", result.Offset.Value);
            SentMessages.Add(1, tags);
            return result;
        }
        catch (Exception exception)
        {
            var errorType = exception is ProduceException<TKey, TValue> produce ? produce.Error.Code.ToString() : exception.GetType().Name;
            tags.Add("error.type", errorType);
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity?.SetTag("error.type", errorType);
            throw;
        }
        finally
        {
            OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }

    /// <summary>
    /// Starts a <c>process {topic}</c> consumer span for a consumed record, as a child of the
    /// trace context found in its headers (the producer's span), and counts the record.
    /// </summary>
    public static Activity? StartProcessActivity<TKey, TValue>(this ConsumeResult<TKey, TValue> result, string consumerGroup)
    {
        var tags = new TagList
        {
            { "messaging.system", "kafka" },
            { "messaging.operation.name", "process" },
            { "messaging.destination.name", result.Topic },
            { "messaging.consumer.group.name", consumerGroup },
        };
        ConsumedMessages.Add(1, tags);

        return ActivitySource.StartProcessActivity(result.TopicPartitionOffset, result.Message.Headers, consumerGroup);
    }

    /// <summary>
    /// Starts a <c>send {topic}</c> producer span on <paramref name="source"/> with the messaging
    /// attributes, as a child of <paramref name="parent"/> (default: the current activity).
    /// </summary>
    public static Activity? StartSendActivity(this ActivitySource source, string topic, ActivityContext parent = default)
    {
        var activity = source.StartActivity($"send {topic}", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.operation.type", "send");
        activity?.SetTag("messaging.operation.name", "send");
        activity?.SetTag("messaging.destination.name", topic);
        return activity;
    }

    /// <summary>
    /// Starts a <c>process {topic}</c> consumer span on <paramref name="source"/> for the record at
    /// <paramref name="record"/>, as a child of the trace context in its <paramref name="headers"/>
    /// (the producer's span), with the messaging attributes.
    /// </summary>
    public static Activity? StartProcessActivity(this ActivitySource source, TopicPartitionOffset record, Headers? headers, string consumerGroup)
    {
        var activity = source.StartActivity($"process {record.Topic}", ActivityKind.Consumer, ExtractTraceContext(headers));
        if (activity is not null)
        {
            activity.SetTag("messaging.system", "kafka");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.operation.name", "process");
            activity.SetTag("messaging.destination.name", record.Topic);
            activity.SetTag("messaging.consumer.group.name", consumerGroup);
            activity.SetTag("messaging.destination.partition.id", record.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.SetTag("messaging.kafka.offset", record.Offset.Value);
        }

        return activity;
    }

    /// <summary>Writes <c>traceparent</c> (and <c>tracestate</c>, baggage) into record headers, replacing any there.</summary>
    public static void InjectTraceContext(ActivityContext context, Headers headers) => InjectTraceContext(context, Baggage.Current, headers);

    /// <summary>
    /// Writes <c>traceparent</c> and <c>tracestate</c> into record headers, and no baggage: for a
    /// producer whose current baggage came from a client it does not trust (an HTTP request's
    /// <c>baggage</c> header), which would otherwise be copied into every record it writes.
    /// </summary>
    public static void InjectTraceContextWithoutBaggage(ActivityContext context, Headers headers) => InjectTraceContext(context, default, headers);

    private static void InjectTraceContext(ActivityContext context, Baggage baggage, Headers headers)
    {
        if (context == default)
        {
            return;
        }

        Propagator.Inject(new PropagationContext(context, baggage), headers, static (carrier, key, value) =>
        {
            carrier.Remove(key);
            carrier.Add(key, Encoding.UTF8.GetBytes(value));
        });
    }

    /// <summary>Reads the trace context a producer wrote into record headers; default when there is none.</summary>
    public static ActivityContext ExtractTraceContext(Headers? headers)
    {
        if (headers is null)
        {
            return default;
        }

        var context = Propagator.Extract(default, headers, static (carrier, key) =>
            carrier.TryGetLastBytes(key, out var value) ? [Encoding.UTF8.GetString(value)] : []);
        return context.ActivityContext;
    }
}
