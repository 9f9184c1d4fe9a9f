using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Contracts;

/// <summary>The one JSON shape of every message the pipeline puts on Kafka: camelCase, strict on read.</summary>
public static class PipelineJson
{
    /// <summary>Options for reading and writing <see cref="PipelineEvent"/> and <see cref="AggregateRecord"/>.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Serializes a message to UTF-8 JSON.</summary>
    public static byte[] Serialize<T>(T message) => JsonSerializer.SerializeToUtf8Bytes(message, Options);

    /// <summary>Deserializes a message, throwing <see cref="JsonException"/> when it is not one.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"A {typeof(T).Name} cannot be null.");
}
