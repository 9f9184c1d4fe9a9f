using Pipeline.Contracts;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>The stable dead-letter reasons of a record its format cannot read, the same in every service.</summary>
public static class RecordFormatRejections
{
    /// <summary>The value is not JSON of the expected message (JSON format).</summary>
    public const string InvalidJson = "invalid-json";

    /// <summary>The value does not start with the Confluent wire format's magic byte 0 (JSON from an old producer, for one).</summary>
    public const string NotAvro = "not-avro";

    /// <summary>The value's schema id is not in the Schema Registry.</summary>
    public const string UnknownSchemaId = "unknown-schema-id";

    /// <summary>The value is framed for the registry but its Avro body does not read with the writer schema, or that schema cannot be read as the expected one.</summary>
    public const string InvalidAvro = "invalid-avro";
}

/// <summary>
/// The Schema Registry could not be reached (or answered a server error): not the record's fault,
/// so nothing is dead-lettered; the caller waits and tries again, as for a broker outage.
/// </summary>
public sealed class SchemaRegistryUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>One record's value read by a <see cref="PipelineRecordFormat"/>: the message, or why there is none.</summary>
public readonly record struct RecordRead<T>(T? Message, string? Reason, string? Detail)
    where T : class
{
    /// <summary>A record that could not be read, with a stable reason and a readable detail.</summary>
    public static RecordRead<T> Rejected(string reason, string detail) => new(null, reason, detail);
}

/// <summary>
/// How the pipeline's messages are written to and read from <see cref="Topics.Events"/> and
/// <see cref="Topics.Aggregates"/>: JSON (<see cref="PipelineJson"/>) or Avro with a Schema
/// Registry, chosen for the whole pipeline by <c>Kafka:RecordFormat</c>. Reading never throws for a
/// bad record: it answers a rejection to dead-letter. The event's record key is its event key as
/// UTF-8 text in both formats; only the aggregates topic's key is Avro in the Avro format.
/// </summary>
public abstract class PipelineRecordFormat
{
    /// <summary>The JSON format, which needs nothing to run.</summary>
    public static PipelineRecordFormat Json { get; } = new JsonRecordFormat();

    /// <summary>Which format this is.</summary>
    public abstract RecordFormat Format { get; }

    /// <summary>
    /// Readies <see cref="WriteEvent"/> so that it does not wait on anything (the Avro format
    /// registers the event schema): an asynchronous caller, such as a request handler, awaits this
    /// first. Throws <see cref="SchemaRegistryUnavailableException"/> when the registry cannot be reached.
    /// </summary>
    public virtual Task PrepareEventWritesAsync() => Task.CompletedTask;

    /// <summary>An event's record value.</summary>
    public abstract byte[] WriteEvent(PipelineEvent pipelineEvent);

    /// <summary>Reads an event's record value (not null, not empty); the event rules are the caller's to check.</summary>
    public abstract RecordRead<PipelineEventDocument> ReadEvent(byte[] value);

    /// <summary>An aggregate update's record key.</summary>
    public abstract byte[] WriteAggregateKey(AggregateId id);

    /// <summary>An aggregate update's record value.</summary>
    public abstract byte[] WriteAggregate(AggregateRecord record);

    /// <summary>Reads an aggregate update's record value (not null); the table's rules are the caller's to check.</summary>
    public abstract RecordRead<AggregateRecord> ReadAggregate(byte[] value);
}
