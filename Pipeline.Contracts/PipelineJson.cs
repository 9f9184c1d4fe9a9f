using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Pipeline.Contracts;

/// <summary>
/// The one JSON shape of every message the pipeline puts on Kafka in the JSON record format:
/// camelCase, strict on read (no unknown members, no missing ones, no nulls where the contract
/// has none). Every service reads and writes through <see cref="PipelineJsonContext"/>.
/// </summary>
public static class PipelineJson
{
    /// <summary>The options of <see cref="PipelineJsonContext"/>, for anything that needs them as options.</summary>
    public static JsonSerializerOptions Options => PipelineJsonContext.Default.Options;

    /// <summary>Serializes a message to UTF-8 JSON.</summary>
    public static byte[] Serialize<T>(T message) => JsonSerializer.SerializeToUtf8Bytes(message, TypeInfo<T>());

    /// <summary>Deserializes a message, throwing <see cref="JsonException"/> when it is not one.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, TypeInfo<T>()) ?? throw new JsonException($"A {typeof(T).Name} cannot be null.");

    private static JsonTypeInfo<T> TypeInfo<T>() =>
        PipelineJsonContext.Default.GetTypeInfo(typeof(T)) as JsonTypeInfo<T>
        ?? throw new NotSupportedException($"{typeof(T).Name} is not a pipeline message.");
}

/// <summary>The source-generated JSON of the pipeline's messages: the one JSON configuration of the contracts.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    // A missing count or version would otherwise read as 0 and be stored as a real figure.
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(PipelineEvent))]
[JsonSerializable(typeof(PipelineEventDocument))]
[JsonSerializable(typeof(AggregateRecord))]
[JsonSerializable(typeof(AggregateRecord[]))]
[JsonSerializable(typeof(AggregateId))]
public sealed partial class PipelineJsonContext : JsonSerializerContext;

/// <summary>
/// A <see cref="PipelineEvent"/> as a reader of the events topic finds it: every member must be
/// present, but <see cref="Id"/> and <see cref="Key"/> may be null so that the reader can say
/// which one is missing, and text that is not Unicode is told apart from other faults
/// (<see cref="InvalidUnicodeTextException"/>).
/// </summary>
public sealed class PipelineEventDocument
{
    /// <summary>The event id, or null when the record carries none.</summary>
    [JsonRequired]
    [JsonConverter(typeof(UnicodeTextConverter))]
    public string? Id { get; init; }

    /// <summary>The event key, or null when the record carries none.</summary>
    [JsonRequired]
    [JsonConverter(typeof(UnicodeTextConverter))]
    public string? Key { get; init; }

    /// <summary>The event value.</summary>
    [JsonRequired]
    public double Value { get; init; }

    /// <summary>When the event happened.</summary>
    [JsonRequired]
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>
/// Reads a JSON string as the API does, telling text that is not Unicode (an unpaired surrogate
/// escape, invalid UTF-8) apart from any other fault, so that it is dead-lettered as
/// <c>invalid-unicode</c>, the code the API answers, rather than as <c>invalid-json</c>.
/// </summary>
public sealed class UnicodeTextConverter : JsonConverter<string>
{
    /// <inheritdoc />
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"Expected a string, not {reader.TokenType}.");
        }

        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException exception)
        {
            throw new InvalidUnicodeTextException(exception);
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>A JSON string that is not Unicode text; the serializer adds the path of the member.</summary>
public sealed class InvalidUnicodeTextException(Exception inner) : JsonException("The string is not valid Unicode text.", inner);
