using Avro.IO;
using Avro.Specific;
using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Writes one specific record type to one topic in the Confluent wire format: magic byte 0, the
/// big-endian id of the schema registered under the topic's subject (Confluent's
/// <see cref="SubjectNameStrategy.Topic"/>), then the Avro binary body. The schema is registered
/// through the registry client on first use, as Confluent's serializer does with auto-registration,
/// and its id kept; after that a write is Apache.Avro's <see cref="SpecificDatumWriter{T}"/> alone.
/// </summary>
/// <remarks>
/// Not Confluent's <c>AvroSerializer</c>: measured in bench/Formats/README.md, every call of it hops
/// through the thread pool (a <c>ContinueWith</c> around its rule executors, which have no rule to
/// run here), and waited on synchronously, as the pipeline calls its format, that cost about ten to
/// twenty times the Avro encoding itself.
/// </remarks>
internal sealed class AvroRecordWriter<T>
    where T : ISpecificRecord, new()
{
    private readonly ISchemaRegistryClient _registry;
    private readonly string _subject;
    private readonly Schema _schema;
    private readonly SpecificDatumWriter<T> _writer;
    private volatile byte[]? _header;
    private volatile Task<byte[]>? _registration;

    public AvroRecordWriter(ISchemaRegistryClient registry, string topic, MessageComponentType component)
    {
        var writerSchema = new T().Schema;
        _registry = registry;
        _subject = AvroRegistryCall.Wait(SubjectNameStrategy.Topic.ToAsyncDelegate(registry)(new SerializationContext(component, topic), writerSchema.Fullname));
        // The text Confluent's serializer registers: the parsed schema written back out.
        _schema = new Schema(writerSchema.ToString(), [], SchemaType.Avro);
        _writer = new SpecificDatumWriter<T>(writerSchema);
    }

    /// <summary>The record in the wire format; registers the schema first (waiting) if this writer has not yet.</summary>
    public byte[] Write(T record)
    {
        var header = _header ?? AvroRegistryCall.Wait(RegisterAsync());
        using var stream = new MemoryStream(128);
        stream.Write(header);
        _writer.Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    /// <summary>
    /// Registers the schema unless this writer already has its id, so that <see cref="Write"/> does
    /// not wait. Callers at the same time share one call; a failed one is tried again by the next.
    /// </summary>
    public Task<byte[]> RegisterAsync()
    {
        if (_header is { } header)
        {
            return Task.FromResult(header);
        }

        var registration = _registration;
        if (registration is null || registration.IsFaulted || registration.IsCanceled)
        {
            // Racing callers may both register: the registry answers the same id to both.
            registration = RegisterCoreAsync();
            _registration = registration;
        }

        return registration;
    }

    private async Task<byte[]> RegisterCoreAsync()
    {
        var id = await AvroRegistryCall.AwaitAsync(_registry.RegisterSchemaAsync(_subject, _schema, normalize: false)).ConfigureAwait(false);
        return _header = [0, (byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id];
    }
}
