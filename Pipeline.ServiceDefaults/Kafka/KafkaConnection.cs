using Microsoft.Extensions.Configuration;
using Pipeline.Contracts;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Reads a Kafka client's settings: the bootstrap servers only from
/// <c>ConnectionStrings:{name}</c>, any other librdkafka property from <c>Kafka:{Client}</c>
/// (for example <c>Kafka__Producer__linger.ms=5</c>).
/// </summary>
public static class KafkaConnection
{
    /// <summary>The connection name every service uses for the pipeline's broker.</summary>
    public const string DefaultName = ConnectionNames.Kafka;

    /// <summary>The bootstrap servers of the named connection; a clear error when it is missing.</summary>
    public static string GetBootstrapServers(IConfiguration configuration, string connectionName = DefaultName)
    {
        var bootstrapServers = configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(bootstrapServers))
        {
            throw new InvalidOperationException(
                $"No Kafka connection: set ConnectionStrings:{connectionName} (environment ConnectionStrings__{connectionName}) " +
                "to the broker's bootstrap servers, e.g. 127.0.0.1:9092, or run the service from Pipeline.AppHost.");
        }

        return bootstrapServers;
    }

    /// <summary>
    /// librdkafka properties for one client: bootstrap servers, the shared security settings
    /// (<see cref="KafkaClientSecurity"/>), then the settings under <c>Kafka:{clientSection}</c>. Callers apply their own required settings after these.
    /// </summary>
    public static Dictionary<string, string> ReadClientProperties(IConfiguration configuration, string connectionName, string clientSection)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = GetBootstrapServers(configuration, connectionName),
        };
        foreach (var (key, value) in KafkaClientSecurity.Read(configuration))
        {
            properties[key] = value;
        }

        foreach (var setting in configuration.GetSection($"Kafka:{clientSection}").GetChildren())
        {
            if (setting.Value is not null)
            {
                properties[setting.Key] = setting.Value;
            }
        }

        return properties;
    }
}
