using System.Globalization;

namespace Pipeline.AppHost.Containers;

/// <summary>
/// The broker's listeners and Kafka UI's bootstrap servers, as Aspire.Hosting.Kafka sets them
/// (<c>ConfigureKafkaContainer</c> and <c>ConfigureKafkaUIContainer</c> in dotnet/aspire).
/// confluent-local's defaults (https://github.com/confluentinc/kafka-images, local/) plus an
/// internal listener for container-to-broker traffic.
/// </summary>
internal static class KafkaListeners
{
    public const string DataDirectory = "/var/lib/kafka/data";

    public const string Listeners =
        "PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:9092,PLAINTEXT_INTERNAL://0.0.0.0:9093";

    public const string SecurityProtocolMap =
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,PLAINTEXT_INTERNAL:PLAINTEXT";

    public static void Configure(EnvironmentCallbackContext context, KafkaContainerResource kafka)
    {
        context.EnvironmentVariables["KAFKA_LISTENERS"] = Listeners;
        context.EnvironmentVariables["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] = SecurityProtocolMap;

        var primary = kafka.PrimaryEndpoint;
        var @internal = kafka.InternalEndpoint;
        context.EnvironmentVariables["KAFKA_ADVERTISED_LISTENERS"] = context.ExecutionContext.IsRunMode
            // Run mode: host processes reach the broker on the host port of the primary endpoint (the
            // reference is pinned to the host network, so it is that port even though this value is
            // resolved for the container); containers reach it by its name on the default container network.
            ? ReferenceExpression.Create(
                $"PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:{primary.Property(EndpointProperty.Port)},PLAINTEXT_INTERNAL://{kafka.Name}:{@internal.Property(EndpointProperty.TargetPort)}")
            // Publish mode: the deployment target's addresses of the bindings.
            : ReferenceExpression.Create(
                $"PLAINTEXT://{primary.Property(EndpointProperty.Host)}:29092,PLAINTEXT_HOST://{primary.Property(EndpointProperty.HostAndPort)},PLAINTEXT_INTERNAL://{@internal.Property(EndpointProperty.HostAndPort)}");
    }

    public static void ConfigureKafkaUi(EnvironmentCallbackContext context, KafkaContainerResource kafka, int index)
    {
        var @internal = kafka.InternalEndpoint;
        var cluster = index.ToString(CultureInfo.InvariantCulture);
        context.EnvironmentVariables[$"KAFKA_CLUSTERS_{cluster}_NAME"] = kafka.Name;
        context.EnvironmentVariables[$"KAFKA_CLUSTERS_{cluster}_BOOTSTRAPSERVERS"] = context.ExecutionContext.IsRunMode
            // The same name and port the broker advertises on its internal listener.
            ? ReferenceExpression.Create($"{kafka.Name}:{@internal.Property(EndpointProperty.TargetPort)}")
            : ReferenceExpression.Create($"{@internal.Property(EndpointProperty.HostAndPort)}");
    }
}
