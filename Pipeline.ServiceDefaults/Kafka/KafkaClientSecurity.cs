using Microsoft.Extensions.Configuration;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// The security settings every Kafka client of the pipeline shares (producers, consumers, the
/// stream processor's Streamiz clients, the AppHost's admin client): section
/// <c>Kafka:Security</c>, librdkafka property names, e.g.
/// <c>Kafka__Security__security.protocol=SASL_SSL</c>, <c>Kafka__Security__sasl.mechanism=PLAIN</c>,
/// <c>Kafka__Security__sasl.username</c>, <c>Kafka__Security__sasl.password</c>. Only security
/// properties are taken, so that a setting meant for one kind of client cannot silently reach all.
/// </summary>
public static class KafkaClientSecurity
{
    /// <summary>The configuration section, shared by every client.</summary>
    public const string SectionName = "Kafka:Security";

    /// <summary>The properties this section takes (what a managed Kafka asks for: SASL and TLS).</summary>
    public static IReadOnlySet<string> Supported { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "security.protocol",
        "sasl.mechanism",
        "sasl.username",
        "sasl.password",
        "sasl.oauthbearer.method",
        "sasl.oauthbearer.client.id",
        "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.token.endpoint.url",
        "sasl.oauthbearer.scope",
        "sasl.oauthbearer.extensions",
        "ssl.ca.location",
        "ssl.ca.pem",
        "ssl.certificate.location",
        "ssl.certificate.pem",
        "ssl.key.location",
        "ssl.key.pem",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
        "enable.ssl.certificate.verification",
    };

    /// <summary>The properties whose values are secrets: never logged, published as secret parameters.</summary>
    public static IReadOnlySet<string> Secret { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "sasl.password",
        "sasl.oauthbearer.client.secret",
        "ssl.key.password",
        "ssl.key.pem",
    };

    /// <summary>The configured security properties; an unsupported key is an error naming it.</summary>
    public static IReadOnlyDictionary<string, string> Read(IConfiguration configuration)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var unsupported = new List<string>();
        foreach (var setting in configuration.GetSection(SectionName).GetChildren())
        {
            if (setting.Value is null)
            {
                continue;
            }

            if (Supported.Contains(setting.Key))
            {
                settings[setting.Key] = setting.Value;
            }
            else
            {
                unsupported.Add($"{SectionName}:{setting.Key}");
            }
        }

        if (unsupported.Count > 0)
        {
            throw new InvalidOperationException(
                $"{string.Join(", ", unsupported)}: not a Kafka security setting. {SectionName} takes only {string.Join(", ", Supported.Order(StringComparer.Ordinal))}; " +
                "other client settings go in Kafka:Producer or Kafka:Consumer.");
        }

        return settings;
    }
}
