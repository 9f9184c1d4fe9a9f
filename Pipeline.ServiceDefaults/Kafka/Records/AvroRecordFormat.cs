using Avro;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using Pipeline.Contracts;
using AvroAggregate = Pipeline.Avro.AggregateRecord;
using AvroAggregateKey = Pipeline.Avro.AggregateKey;
using AvroEvent = Pipeline.Avro.PipelineEvent;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// The Avro record format: Confluent's <see cref="AvroSerializer{T}"/> and
/// <see cref="AvroDeserializer{T}"/> over the specific records of the contracts' schemas, in the
/// Confluent wire format (magic byte 0, big-endian schema id, Avro binary). Writers register their
/// schema under the topic's subject on first use (the registry refuses one that is not BACKWARD
/// compatible); readers fetch a writer's schema by id and resolve it to their own, so records of an
/// older or newer compatible schema are read alike.
/// </summary>
/// <remarks>
/// Confluent's serdes are asynchronous; the processor and the sink call them on their own threads,
/// where only the first record of a schema waits on the registry (schemas and ids are cached).
/// </remarks>
public sealed class AvroRecordFormat : PipelineRecordFormat
{
    private static readonly SerializationContext EventValue = new(MessageComponentType.Value, Topics.Events);
    private static readonly SerializationContext AggregateKeyContext = new(MessageComponentType.Key, Topics.Aggregates);
    private static readonly SerializationContext AggregateValue = new(MessageComponentType.Value, Topics.Aggregates);

    private readonly AvroSerializer<AvroEvent> _eventWriter;
    private readonly AvroDeserializer<AvroEvent> _eventReader;
    private readonly AvroSerializer<AvroAggregateKey> _keyWriter;
    private readonly AvroSerializer<AvroAggregate> _aggregateWriter;
    private readonly AvroDeserializer<AvroAggregate> _aggregateReader;

    /// <summary>A format talking to <paramref name="registry"/>.</summary>
    public AvroRecordFormat(ISchemaRegistryClient registry)
    {
        Registry = registry;
        // The subjects are the contracts' (RecordSchemas): {topic}-key and {topic}-value. Named
        // explicitly because the client's default (Associated) first asks the registry for an
        // association API that Confluent Platform 8.1 and the local registry do not have.
        var writerConfig = new AvroSerializerConfig { AutoRegisterSchemas = true, SubjectNameStrategy = SubjectNameStrategy.Topic };
        var readerConfig = new AvroDeserializerConfig { SubjectNameStrategy = SubjectNameStrategy.Topic };
        _eventWriter = new AvroSerializer<AvroEvent>(registry, writerConfig);
        _eventReader = new AvroDeserializer<AvroEvent>(registry, readerConfig);
        _keyWriter = new AvroSerializer<AvroAggregateKey>(registry, writerConfig);
        _aggregateWriter = new AvroSerializer<AvroAggregate>(registry, writerConfig);
        _aggregateReader = new AvroDeserializer<AvroAggregate>(registry, readerConfig);
    }

    /// <summary>The registry client this format reads and registers schemas through.</summary>
    public ISchemaRegistryClient Registry { get; }

    /// <inheritdoc />
    public override RecordFormat Format => RecordFormat.Avro;

    /// <inheritdoc />
    public override byte[] WriteEvent(PipelineEvent pipelineEvent) => Wait(_eventWriter.SerializeAsync(new AvroEvent
    {
        Id = pipelineEvent.Id,
        Key = pipelineEvent.Key,
        Value = pipelineEvent.Value,
        Timestamp = pipelineEvent.Timestamp.UtcDateTime,
    }, EventValue));

    /// <inheritdoc />
    public override RecordRead<PipelineEventDocument> ReadEvent(byte[] value)
    {
        var read = Read(_eventReader, value, EventValue, "PipelineEvent");
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
    public override byte[] WriteAggregateKey(AggregateId id) => Wait(_keyWriter.SerializeAsync(new AvroAggregateKey
    {
        Key = id.Key,
        Window = id.Window,
        WindowStart = id.WindowStart.UtcDateTime,
    }, AggregateKeyContext));

    /// <inheritdoc />
    public override byte[] WriteAggregate(AggregateRecord record) => Wait(_aggregateWriter.SerializeAsync(new AvroAggregate
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
    }, AggregateValue));

    /// <inheritdoc />
    public override RecordRead<AggregateRecord> ReadAggregate(byte[] value)
    {
        var read = Read(_aggregateReader, value, AggregateValue, "AggregateRecord");
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
    private static RecordRead<T> Read<T>(AvroDeserializer<T> reader, byte[] value, SerializationContext context, string expected)
        where T : class
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
            return new RecordRead<T>(Wait(reader.DeserializeAsync(value, isNull: false, context)), null, null);
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

    private static T Wait<T>(Task<T> task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return task.Result;
        }

        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (Exception exception) when (IsRegistryUnavailable(exception))
        {
            throw new SchemaRegistryUnavailableException("The Schema Registry could not be reached: " + exception.Message, exception);
        }
    }

    private static bool IsRegistryUnavailable(Exception exception) => exception switch
    {
        // Confluent's SchemaRegistryException is an HttpRequestException that the registry answered.
        SchemaRegistryException registry => (int)registry.Status >= 500,
        HttpRequestException or TaskCanceledException or TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsRegistryUnavailable),
        _ => exception.InnerException is { } inner && IsRegistryUnavailable(inner),
    };
}
