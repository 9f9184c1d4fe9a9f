namespace Pipeline.Contracts;

/// <summary>The connection string names every service and the AppHost use, the same in every infrastructure mode.</summary>
public static class ConnectionNames
{
    /// <summary>The broker's bootstrap servers: <c>ConnectionStrings:kafka</c>.</summary>
    public const string Kafka = "kafka";

    /// <summary>The pipeline's PostgreSQL database: <c>ConnectionStrings:pipelinedb</c>.</summary>
    public const string Database = "pipelinedb";

    /// <summary>The Schema Registry's URL(s), comma-separated: <c>ConnectionStrings:schema-registry</c>.</summary>
    public const string SchemaRegistry = "schema-registry";
}
