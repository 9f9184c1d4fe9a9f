using System.Reflection;

namespace Pipeline.Contracts;

/// <summary>
/// The Avro schemas of the records on the pipeline's topics, kept as <c>.avsc</c> files next to
/// this class (embedded), and the Schema Registry subjects they are registered under (the
/// Confluent default, topic name strategy: <c>{topic}-key</c>, <c>{topic}-value</c>).
/// </summary>
public static class RecordSchemas
{
    /// <summary>The subject of the events topic's values.</summary>
    public const string EventSubject = Topics.Events + "-value";

    /// <summary>The subject of the aggregates topic's keys.</summary>
    public const string AggregateKeySubject = Topics.Aggregates + "-key";

    /// <summary>The subject of the aggregates topic's values.</summary>
    public const string AggregateSubject = Topics.Aggregates + "-value";

    /// <summary>The schema of <see cref="PipelineEvent"/> (<c>pipeline-event.avsc</c>).</summary>
    public static string Event { get; } = Read("pipeline-event.avsc");

    /// <summary>The schema of <see cref="AggregateId"/> as a record key (<c>aggregate-key.avsc</c>).</summary>
    public static string AggregateKey { get; } = Read("aggregate-key.avsc");

    /// <summary>The schema of <see cref="AggregateRecord"/> (<c>aggregate-record.avsc</c>).</summary>
    public static string Aggregate { get; } = Read("aggregate-record.avsc");

    private static string Read(string file)
    {
        using var stream = typeof(RecordSchemas).Assembly.GetManifestResourceStream("Pipeline.Contracts.Schemas." + file)
            ?? throw new InvalidOperationException($"The schema {file} is not embedded in {typeof(RecordSchemas).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>
/// How records are written on <see cref="Topics.Events"/> and <see cref="Topics.Aggregates"/>:
/// one setting for the whole pipeline (<see cref="RecordFormatSettings.SettingKey"/>), since a reader knows only one.
/// </summary>
public enum RecordFormat
{
    /// <summary>UTF-8 JSON (<see cref="PipelineJson"/>), no registered schema.</summary>
    Json,

    /// <summary>Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary), schemas in a Schema Registry.</summary>
    Avro,
}

/// <summary>The settings that choose and reach the record format.</summary>
public static class RecordFormatSettings
{
    /// <summary>The configuration key every service reads the format from: <c>Kafka:RecordFormat</c>.</summary>
    public const string SettingKey = "Kafka:RecordFormat";

    /// <summary>The Schema Registry's basic-auth user info (<c>user:password</c>), when it asks for one.</summary>
    public const string BasicAuthUserInfoKey = "Kafka:SchemaRegistry:BasicAuthUserInfo";
}
