using Microsoft.Extensions.Configuration;

namespace Pipeline.AppHost.Containers;

/// <summary>
/// A container image as <c>[registry/]repository[:tag]</c>, e.g. <c>docker.io/confluentinc/confluent-local:8.1.1</c>
/// or <c>localhost/pipeline-test/postgres:15</c>.
/// </summary>
public sealed record ContainerImage(string Registry, string Repository, string Tag)
{
    /// <summary>The full reference, as <c>docker pull</c> takes it.</summary>
    public override string ToString() => $"{Registry}/{Repository}:{Tag}";

    /// <summary>
    /// Reads a reference. The first path segment is the registry when it looks like a host
    /// (has a '.' or ':', or is <c>localhost</c>), as Docker reads it; otherwise the registry is docker.io.
    /// </summary>
    public static ContainerImage Parse(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        var text = reference.Trim();
        var lastSlash = text.LastIndexOf('/');
        var tagSeparator = text.LastIndexOf(':');
        var tag = "latest";
        if (tagSeparator > lastSlash)
        {
            tag = text[(tagSeparator + 1)..];
            text = text[..tagSeparator];
        }

        var firstSlash = text.IndexOf('/', StringComparison.Ordinal);
        if (firstSlash > 0)
        {
            var first = text[..firstSlash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                return Validated(new(first, text[(firstSlash + 1)..], tag), reference);
            }
        }

        return Validated(new("docker.io", firstSlash > 0 ? text : $"library/{text}", tag), reference);
    }

    private static ContainerImage Validated(ContainerImage image, string reference) =>
        image.Repository.Length == 0 || image.Tag.Length == 0 || image.Repository.Contains(' ', StringComparison.Ordinal)
            ? throw new InvalidOperationException($"'{reference}' is not a container image reference ([registry/]repository[:tag]).")
            : image;
}

/// <summary>
/// The images of the <c>containers</c> mode: upstream Aspire's defaults, each overridable with
/// <c>Pipeline:Containers:{Kafka|KafkaUi|Postgres|SchemaRegistry}Image</c> (e.g. to a mirror, or to the
/// locally built images the integration test runs).
/// </summary>
public sealed record ContainerImages(ContainerImage Kafka, ContainerImage KafkaUi, ContainerImage Postgres, ContainerImage SchemaRegistry)
{
    public const string KafkaKey = "Pipeline:Containers:KafkaImage";
    public const string KafkaUiKey = "Pipeline:Containers:KafkaUiImage";
    public const string PostgresKey = "Pipeline:Containers:PostgresImage";
    public const string SchemaRegistryKey = "Pipeline:Containers:SchemaRegistryImage";

    /// <summary>Aspire.Hosting.Kafka's image (KafkaContainerImageTags, dotnet/aspire main).</summary>
    public static readonly ContainerImage DefaultKafka = new("docker.io", "confluentinc/confluent-local", "8.1.1");

    /// <summary>
    /// Confluent's Schema Registry of the same Confluent Platform release as <see cref="DefaultKafka"/>
    /// (confluent-local 8.1.1 is Confluent Platform 8.1.1).
    /// </summary>
    public static readonly ContainerImage DefaultSchemaRegistry = new("docker.io", "confluentinc/cp-schema-registry", "8.1.1");

    /// <summary>Aspire.Hosting.Kafka's Kafka UI image.</summary>
    public static readonly ContainerImage DefaultKafkaUi = new("docker.io", "kafbat/kafka-ui", "v1.4.2");

    /// <summary>
    /// What Aspire.Hosting.PostgreSQL (the version referenced) runs; written out so that <c>auto</c>
    /// can look for it before the resource exists. A test keeps it equal to the package's.
    /// </summary>
    public static readonly ContainerImage DefaultPostgres = new("docker.io", "library/postgres", "18.3");

    /// <summary>The images in force: the defaults, or the settings that override them.</summary>
    public static ContainerImages From(IConfiguration configuration) => new(
        Read(configuration, KafkaKey) ?? DefaultKafka,
        Read(configuration, KafkaUiKey) ?? DefaultKafkaUi,
        Read(configuration, PostgresKey) ?? DefaultPostgres,
        Read(configuration, SchemaRegistryKey) ?? DefaultSchemaRegistry);

    /// <summary>Every image the mode runs with <paramref name="format"/> (the registry's with Avro only).</summary>
    public IReadOnlyList<ContainerImage> For(Contracts.RecordFormat format) =>
        format == Contracts.RecordFormat.Avro ? [Kafka, KafkaUi, Postgres, SchemaRegistry] : [Kafka, KafkaUi, Postgres];

    private static ContainerImage? Read(IConfiguration configuration, string key) =>
        configuration[key] is { Length: > 0 } value ? ContainerImage.Parse(value) : null;
}
