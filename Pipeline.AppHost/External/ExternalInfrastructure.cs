using Microsoft.Extensions.Configuration;
using Pipeline.AppHost.Infrastructure;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.AppHost.External;

/// <summary>
/// The <c>external</c> mode: an existing Kafka cluster and PostgreSQL, named by the connection
/// strings <c>kafka</c>, <c>pipelinedb</c> and (Avro) <c>schema-registry</c> (<c>ConnectionStrings:kafka</c> in the AppHost's
/// configuration when run; parameters of the manifest when published). Nothing is provisioned
/// but the topics, which are ensured through the Admin API before any service starts.
/// </summary>
internal static class ExternalInfrastructure
{
    /// <summary>The replication factor of created topics; default: the broker's own default.</summary>
    public const string ReplicationFactorKey = "Pipeline:ReplicationFactor";

    public static PipelineInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId, RecordFormat format)
    {
        var replicationFactor = builder.Configuration.GetValue(ReplicationFactorKey, KafkaTopicProvisioner.BrokerDefaultReplicationFactor);
        if (replicationFactor is 0 or < -1)
        {
            throw new InvalidOperationException($"{ReplicationFactorKey} must be -1 (the broker's default) or at least 1; it is {replicationFactor}.");
        }

        var security = KafkaClientSecurity.Read(builder.Configuration);
        var kafka = builder.AddConnectionString(ConnectionNames.Kafka)
            .WithPipelineTopics(partitions, replicationFactor, applicationId, security);
        var database = builder.AddConnectionString(ConnectionNames.Database);

        return new(choice, kafka, database, applicationId)
        {
            RecordFormat = format,
            SchemaRegistry = format == RecordFormat.Avro ? builder.AddConnectionString(ConnectionNames.SchemaRegistry) : null,
            ConfigureKafkaClients = service =>
            {
                ForwardSecurity(service);
                ForwardSchemaRegistryAuth(service);
            },
        };
    }

    /// <summary>
    /// Gives a service the AppHost's <c>Kafka:SchemaRegistry:BasicAuthUserInfo</c> (<c>user:password</c>)
    /// as a secret parameter, when set. Only when run: a deployment sets it itself (README, Deploy).
    /// </summary>
    public static void ForwardSchemaRegistryAuth(IResourceBuilder<ProjectResource> service)
    {
        var builder = service.ApplicationBuilder;
        if (!builder.ExecutionContext.IsRunMode || builder.Configuration[RecordFormatSettings.BasicAuthUserInfoKey] is not { Length: > 0 } userInfo)
        {
            return;
        }

        service.WithEnvironment("Kafka__SchemaRegistry__BasicAuthUserInfo", SecretParameter(builder, "schema-registry-basic-auth", userInfo));
    }

    /// <summary>
    /// Gives a service the AppHost's <c>Kafka:Security</c> settings, secrets through secret
    /// parameters. Only when run: a deployment sets <c>Kafka__Security__*</c> itself (README, Deploy).
    /// </summary>
    public static void ForwardSecurity(IResourceBuilder<ProjectResource> service)
    {
        var builder = service.ApplicationBuilder;
        if (!builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        foreach (var (key, value) in KafkaClientSecurity.Read(builder.Configuration))
        {
            var variable = $"Kafka__Security__{key}";
            if (KafkaClientSecurity.Secret.Contains(key))
            {
                service.WithEnvironment(variable, SecretParameter(builder, $"kafka-{key.Replace('.', '-')}", value));
            }
            else
            {
                service.WithEnvironment(variable, value);
            }
        }
    }

    // One secret parameter per setting, shared by every service that is given it.
    private static IResourceBuilder<ParameterResource> SecretParameter(IDistributedApplicationBuilder builder, string name, string value) =>
        builder.Resources.OfType<ParameterResource>().FirstOrDefault(p => p.Name == name) is { } existing
            ? builder.CreateResourceBuilder(existing)
            : builder.AddParameter(name, value, secret: true);
}
