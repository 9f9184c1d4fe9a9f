using System.Collections.Concurrent;
using Avro.IO;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Reads one specific record type from one topic's values in the Confluent wire format: the writer
/// schema is fetched by the id in the value (under the topic's subject, Confluent's
/// <see cref="SubjectNameStrategy.Topic"/>), through the registry client's cache, and resolved to
/// this reader's schema once per id by Apache.Avro's <see cref="SpecificDatumReader{T}"/>; so
/// records of an older or a newer compatible schema are read alike.
/// </summary>
/// <remarks>
/// Not Confluent's <c>AvroDeserializer</c>: see <see cref="AvroRecordWriter{T}"/> and
/// bench/Formats/README.md. Like it, the schema's references are not followed (these schemas have none).
/// </remarks>
internal sealed class AvroRecordReader<T>
    where T : class, ISpecificRecord, new()
{
    private readonly ISchemaRegistryClient _registry;
    private readonly string _subject;
    private readonly global::Avro.Schema _readerSchema = new T().Schema;
    private readonly ConcurrentDictionary<int, SpecificDatumReader<T>> _readers = new();

    public AvroRecordReader(ISchemaRegistryClient registry, string topic, MessageComponentType component)
    {
        _registry = registry;
        _subject = AvroRegistryCall.Wait(SubjectNameStrategy.Topic.ToAsyncDelegate(registry)(new SerializationContext(component, topic), _readerSchema.Fullname));
    }

    /// <summary>
    /// Reads a value already checked to start with magic byte 0 and a schema id. Throws the
    /// registry's <see cref="SchemaRegistryException"/> for an unknown id, and Apache.Avro's
    /// exceptions for a body or a writer schema that does not read as <typeparamref name="T"/>.
    /// </summary>
    public T Read(byte[] value, int schemaId)
    {
        var reader = _readers.TryGetValue(schemaId, out var known) ? known : Resolve(schemaId);
        using var body = new MemoryStream(value, 5, value.Length - 5, writable: false);
        return reader.Read(new T(), new BinaryDecoder(body));
    }

    private SpecificDatumReader<T> Resolve(int schemaId)
    {
        var writer = AvroRegistryCall.Wait(_registry.GetSchemaBySubjectAndIdAsync(_subject, schemaId));
        var reader = new SpecificDatumReader<T>(global::Avro.Schema.Parse(writer.SchemaString), _readerSchema);
        // Ids on a topic are its subject's versions: few, so the cache needs no bound.
        return _readers.GetOrAdd(schemaId, reader);
    }
}
