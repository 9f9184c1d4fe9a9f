using Confluent.Kafka;
using Pipeline.ServiceDefaults.Kafka;
using Streamiz.Kafka.Net;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Gives Streamiz the shared Kafka security settings (<see cref="KafkaClientSecurity"/>). Streamiz
/// passes a security setting on to every client it makes (main, restore and global consumers,
/// producers, admin) only through its typed properties, so each supported key is mapped here.
/// </summary>
internal static class StreamSecurity
{
    public static void Apply(StreamConfig config, IReadOnlyDictionary<string, string>? security)
    {
        if (security is null || security.Count == 0)
        {
            return;
        }

        var unmapped = security.Keys.Where(key => !KafkaClientSecurity.Supported.Contains(key)).ToList();
        if (unmapped.Count > 0)
        {
            throw new InvalidOperationException($"Not Kafka security settings: {string.Join(", ", unmapped)}.");
        }

        // Confluent's typed view of the librdkafka names (its enum getters want Confluent's own
        // spelling, so enums are read here from the librdkafka one: SASL_SSL, SCRAM-SHA-512, OIDC).
        var client = new ClientConfig(security.Where(s => !EnumKeys.Contains(s.Key)).ToDictionary());
        if (security.TryGetValue("security.protocol", out var protocol)) config.SecurityProtocol = ParseEnum<SecurityProtocol>("security.protocol", protocol);
        if (security.TryGetValue("sasl.mechanism", out var mechanism)) config.SaslMechanism = ParseEnum<SaslMechanism>("sasl.mechanism", mechanism);
        if (security.TryGetValue("sasl.oauthbearer.method", out var method)) config.SaslOauthbearerMethod = ParseEnum<SaslOauthbearerMethod>("sasl.oauthbearer.method", method);
        if (security.TryGetValue("ssl.endpoint.identification.algorithm", out var identification))
        {
            config.SslEndpointIdentificationAlgorithm = ParseEnum<SslEndpointIdentificationAlgorithm>("ssl.endpoint.identification.algorithm", identification);
        }

        if (client.SaslUsername is { } username) config.SaslUsername = username;
        if (client.SaslPassword is { } password) config.SaslPassword = password;
        if (client.SaslOauthbearerClientId is { } clientId) config.SaslOauthbearerClientId = clientId;
        if (client.SaslOauthbearerClientSecret is { } clientSecret) config.SaslOauthbearerClientSecret = clientSecret;
        if (client.SaslOauthbearerTokenEndpointUrl is { } tokenEndpoint) config.SaslOauthbearerTokenEndpointUrl = tokenEndpoint;
        if (client.SaslOauthbearerScope is { } scope) config.SaslOauthbearerScope = scope;
        if (client.SaslOauthbearerExtensions is { } extensions) config.SaslOauthbearerExtensions = extensions;
        if (client.SslCaLocation is { } caLocation) config.SslCaLocation = caLocation;
        if (client.SslCaPem is { } caPem) config.SslCaPem = caPem;
        if (client.SslCertificateLocation is { } certificateLocation) config.SslCertificateLocation = certificateLocation;
        if (client.SslCertificatePem is { } certificatePem) config.SslCertificatePem = certificatePem;
        if (client.SslKeyLocation is { } keyLocation) config.SslKeyLocation = keyLocation;
        if (client.SslKeyPem is { } keyPem) config.SslKeyPem = keyPem;
        if (client.SslKeyPassword is { } keyPassword) config.SslKeyPassword = keyPassword;
        if (client.EnableSslCertificateVerification is { } verify) config.EnableSslCertificateVerification = verify;
    }

    private static readonly HashSet<string> EnumKeys = ["security.protocol", "sasl.mechanism", "sasl.oauthbearer.method", "ssl.endpoint.identification.algorithm"];

    private static T ParseEnum<T>(string key, string value)
        where T : struct, Enum =>
        Enum.TryParse<T>(value.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"Kafka:Security:{key} is '{value}'; use one of: {string.Join(", ", Enum.GetNames<T>())}.");
}
