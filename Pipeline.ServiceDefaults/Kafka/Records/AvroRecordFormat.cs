using Avro;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Pipeline.Contracts;
using AvroAggregate = Pipeline.Avro.AggregateRecord;
using AvroAggregateKey = Pipeline.Avro.AggregateKey;
using AvroEvent = Pipeline.Avro.PipelineEvent;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// The Avro record format: the specific records of the contracts' schemas in the Confluent wire
/// format (magic byte 0, big-endian schema id, Avro binary), with Confluent's registry client.
/// Writers register their schema under the topic's subject on first use (the registry refuses one
/// that is not BACKWARD compatible); readers fetch a writer's schema by id and resolve it to their
/// own, so records of an older or newer compatible schema are read alike.
/// </summary>
/// <remarks>
/// The framing and the Avro encoding are <see cref="AvroRecordWriter{T}"/> and
/// <see cref="AvroRecordReader{T}"/> (Apache.Avro, which Confluent's serdes wrap) rather than
/// Confluent's <c>AvroSerializer</c>/<c>AvroDeserializer</c>, whose per-call thread-pool hop cost
/// the stream processor most of its throughput (bench/Formats/README.md). The processor and the
/// sink call the format on their own threads, where only the first record of a schema waits on
/// the registry (schemas and ids are cached). The API's requests never wait on a thread: they
/// await <see cref="PrepareEventWritesAsync"/> first.
/// </remarks>
public sealed class AvroRecordFormat : PipelineRecordFormat
{
    private readonly AvroRecordWriter<AvroEvent> _eventWriter;
    private readonly AvroRecordReader<AvroEvent> _eventReader;
    private readonly AvroRecordWriter<AvroAggregateKey> _keyWriter;
    private readonly AvroRecordWriter<AvroAggregate> _aggregateWriter;
    private readonly AvroRecordReader<AvroAggregate> _aggregateReader;

    /// <summary>A format talking to <paramref name="registry"/>.</summary>
    public AvroRecordFormat(ISchemaRegistryClient registry)
    {
        Registry = registry;
        // The subjects are the contracts' (RecordSchemas): {topic}-key and {topic}-value, Confluent's
        // Topic strategy, not the client's default (Associated), which first asks the registry for an
        // association API that Confluent Platform 8.1 and the local registry do not have.
        _eventWriter = new AvroRecordWriter<AvroEvent>(registry, Topics.Events, MessageComponentType.Value);
        _eventReader = new AvroRecordReader<AvroEvent>(registry, Topics.Events, MessageComponentType.Value);
        _keyWriter = new AvroRecordWriter<AvroAggregateKey>(registry, Topics.Aggregates, MessageComponentType.Key);
        _aggregateWriter = new AvroRecordWriter<AvroAggregate>(registry, Topics.Aggregates, MessageComponentType.Value);
        _aggregateReader = new AvroRecordReader<AvroAggregate>(registry, Topics.Aggregates, MessageComponentType.Value);
    }

    /// <summary>The registry client this format reads and registers schemas through.</summary>
    public ISchemaRegistryClient Registry { get; }

    /// <inheritdoc />
    public override RecordFormat Format => RecordFormat.Avro;

    /// <inheritdoc />
    public override Task PrepareEventWritesAsync() => _eventWriter.RegisterAsync();

    /// <inheritdoc />
    public override byte[] WriteEvent(PipelineEvent pipelineEvent) => _eventWriter.Write(new AvroEvent
    {
        Id = pipelineEvent.Id,
        Key = pipelineEvent.Key,
        Value = pipelineEvent.Value,
        Timestamp = pipelineEvent.Timestamp.UtcDateTime,
    });

    /// <inheritdoc />
    public override RecordRead<PipelineEventDocument> ReadEvent(byte[] value)
    {
        var read = Read(_eventReader, value, "PipelineEvent");
        return read.Message is { } avro
            ? new RecordRead<PipelineEventDocument>(new PipelineEventDocument
            {
                Id = avro.Id,
                Key = avro.Key,
                Value = avro.Value,
                Timestamp = new DateTimeOffset(avro.Timestamp, TimeSpan.Zero),
            }, null, null)
            : RecordRead<PipelineEventDocument>.Rejected(read.Reason!, read.Detail!);
    }

    /// <inheritdoc />
    public override byte[] WriteAggregateKey(AggregateId id) => _keyWriter.Write(new AvroAggregateKey
    {
        Key = id.Key,
        Window = id.Window,
        WindowStart = id.WindowStart.UtcDateTime,
    });

    /// <inheritdoc />
    public override byte[] WriteAggregate(AggregateRecord record) => _aggregateWriter.Write(new AvroAggregate
    {
        Key = record.Key,
        Window = record.Window,
        WindowStart = record.WindowStart.UtcDateTime,
        WindowEnd = record.WindowEnd?.UtcDateTime,
        Count = record.Count,
        Sum = record.Sum,
        Min = record.Min,
        Max = record.Max,
        Mean = record.Mean,
        Final = record.Final,
        Version = record.Version,
        UpdatedAt = record.UpdatedAt.UtcDateTime,
    });

    /// <inheritdoc />
    public override RecordRead<AggregateRecord> ReadAggregate(byte[] value)
    {
        var read = Read(_aggregateReader, value, "AggregateRecord");
        return read.Message is { } avro
            ? new RecordRead<AggregateRecord>(new AggregateRecord(
                avro.Key,
                avro.Window,
                new DateTimeOffset(avro.WindowStart, TimeSpan.Zero),
                avro.WindowEnd is { } end ? new DateTimeOffset(end, TimeSpan.Zero) : null,
                avro.Count,
                avro.Sum,
                avro.Min,
                avro.Max,
                avro.Mean,
                avro.Final,
                avro.Version,
                new DateTimeOffset(avro.UpdatedAt, TimeSpan.Zero)), null, null)
            : RecordRead<AggregateRecord>.Rejected(read.Reason!, read.Detail!);
    }

    // A record that is not what its topic's schema says is a rejection; a registry that cannot be
    // reached is not the record's fault: SchemaRegistryUnavailableException, like a broker outage.
    private static RecordRead<T> Read<T>(AvroRecordReader<T> reader, byte[] value, string expected)
        where T : class, ISpecificRecord, new()
    {
        if (value.Length < 5 || value[0] != 0)
        {
            var first = value.Length == 0 ? "nothing" : $"0x{value[0]:X2}{(value[0] == (byte)'{' ? " ('{': JSON, from a producer still writing the JSON format?)" : "")}";
            return RecordRead<T>.Rejected(RecordFormatRejections.NotAvro,
                $"The value is not in the Confluent wire format (magic byte 0 and a 4-byte schema id, then Avro): it is {value.Length} bytes starting with {first}.");
        }

        var schemaId = (value[1] << 24) | (value[2] << 16) | (value[3] << 8) | value[4];
        try
        {
            return new RecordRead<T>(reader.Read(value, schemaId), null, null);
        }
        catch (SchemaRegistryException exception) when (exception.ErrorCode is 40403 or 40401 or 40402)
        {
            return RecordRead<T>.Rejected(RecordFormatRejections.UnknownSchemaId,
                $"The value's schema id {schemaId} is not in the Schema Registry ({exception.ErrorCode}: {exception.Message}).");
        }
        catch (Exception exception) when (exception is not SchemaRegistryUnavailableException and not OperationCanceledException)
        {
            // Whatever else reading throws (an Avro error, a truncated body, a corrupt length or
            // union index) is the record's: attributed to it, so that it cannot stop the reader.
            return RecordRead<T>.Rejected(RecordFormatRejections.InvalidAvro,
                $"The value (schema id {schemaId}) does not read as a {expected}: {exception.Message}");
        }
    }
}
