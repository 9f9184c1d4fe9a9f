using Pipeline.AppHost.Infrastructure;
using Pipeline.Contracts;
using Pipeline.Hosting.Local.Kafka;
using Pipeline.Hosting.Local.Postgres;

namespace Pipeline.AppHost.Local;

/// <summary>
/// The <c>local</c> mode: a Kafka broker and (Avro) a Schema Registry inside the AppHost process
/// and the host's PostgreSQL (<c>Pipeline.Hosting.Local</c>), for machines without containers. The broker keeps only the
/// newest 5 MiB of each partition and compacts nothing, so the API's backlog bound and the
/// processor's state directory follow from it.
/// </summary>
internal static class LocalInfrastructure
{
    public static PipelineInfrastructure Add(IDistributedApplicationBuilder builder, InfrastructureChoice choice, int partitions, string applicationId, RecordFormat format)
    {
        // The local broker cannot create topics on request, so Streamiz's internal topics are made up front too.
        IReadOnlyList<string> topics = [.. Topics.All, .. StreamProcessorTopology.InternalTopics(applicationId)];
        var kafka = builder.AddLocalKafka(ConnectionNames.Kafka, partitions, topics)
            .WithPipelineTopics(partitions, KafkaTopicProvisioner.BrokerDefaultReplicationFactor, applicationId);
        var database = builder.AddLocalPostgres("postgres").AddDatabase(ConnectionNames.Database);

        return new(choice, builder.AsConnectionString(kafka), builder.AsConnectionString(database), applicationId)
        {
            RecordFormat = format,
            SchemaRegistry = format == RecordFormat.Avro ? builder.AsConnectionString(builder.AddLocalSchemaRegistry(ConnectionNames.SchemaRegistry)) : null,
            // The local broker holds every fetch for the consumer's full fetch.wait.max.ms even when
            // records are waiting (a real broker answers as soon as there is data): ask for a short one.
            ConfigureKafkaClients = service => service.WithEnvironment("Kafka__Consumer__fetch.wait.max.ms", "10"),
            BacklogRecordsPerPartition = LocalKafkaBroker.SafeBacklogRecordsPerPartition,
            ProcessorStateDirectory = LocalProcessorStateDirectory.Create(builder),
        };
    }
}
