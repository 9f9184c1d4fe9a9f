using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Pipeline.Contracts;

namespace Pipeline.AppHost.Infrastructure;

/// <summary>
/// Makes an existing cluster fit the pipeline through the Admin API: the pipeline's topics and
/// the stream processor's changelogs are created when missing (with the configured partitions
/// and replication factor; changelogs compacted, with as many partitions as <c>events</c>, as
/// Streamiz requires). A topic that exists but does not fit is never changed: it is reported,
/// by name, with what is wrong.
/// </summary>
public sealed class KafkaTopicProvisioner(
    IReadOnlyDictionary<string, string> clientSettings, int partitions, short replicationFactor, string applicationId, TimeSpan? requestTimeout = null)
{
    private readonly TimeSpan _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);

    /// <summary>Kafka's "use the broker's default.replication.factor" (KIP-464).</summary>
    public const short BrokerDefaultReplicationFactor = -1;

    /// <summary>What one pass found: the topics created, and the problems that keep the pipeline from starting.</summary>
    public sealed record Outcome(IReadOnlyList<string> Created, IReadOnlyList<string> Problems)
    {
        public bool Fits => Problems.Count == 0;
    }

    /// <summary>Checks every topic and creates the missing ones; safe to repeat.</summary>
    public async Task<Outcome> EnsureAsync(CancellationToken cancellationToken)
    {
        var config = new AdminClientConfig(clientSettings.ToDictionary()) { SocketTimeoutMs = 10_000 };
        using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();

        // GetMetadata blocks; run it off the caller's thread.
        var metadata = await Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(10)), cancellationToken);
        var existing = metadata.Topics.Where(t => !t.Error.IsError).ToDictionary(t => t.Topic, StringComparer.Ordinal);

        var problems = new List<string>();
        var toCreate = new List<TopicSpecification>();
        foreach (var topic in Topics.All)
        {
            if (existing.TryGetValue(topic, out var found))
            {
                CheckReplication(found, problems);
            }
            else
            {
                toCreate.Add(new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor });
            }
        }

        // Streamiz co-partitions each changelog with its source: a changelog with another
        // partition count than events stops the processor.
        var eventPartitions = existing.TryGetValue(Topics.Events, out var events) ? events.Partitions.Count : partitions;
        foreach (var changelog in StreamProcessorTopology.InternalTopics(applicationId))
        {
            if (existing.TryGetValue(changelog, out var found))
            {
                if (found.Partitions.Count != eventPartitions)
                {
                    problems.Add(
                        $"Topic '{changelog}' has {found.Partitions.Count} partitions but '{Topics.Events}' has {eventPartitions}: " +
                        "the stream processor needs its changelogs to have as many partitions as its source. " +
                        $"Recreate '{changelog}' with {eventPartitions} partitions, or use another StreamProcessor:ApplicationId.");
                }

                CheckReplication(found, problems);
            }
            else
            {
                toCreate.Add(new TopicSpecification
                {
                    Name = changelog,
                    NumPartitions = eventPartitions,
                    ReplicationFactor = replicationFactor,
                    Configs = new Dictionary<string, string> { ["cleanup.policy"] = "compact" },
                });
            }
        }

        var created = new List<string>();
        if (toCreate.Count > 0)
        {
            try
            {
                await admin.CreateTopicsAsync(toCreate, new CreateTopicsOptions { RequestTimeout = _requestTimeout, OperationTimeout = _requestTimeout });
                created.AddRange(toCreate.Select(t => t.Name));
            }
            catch (CreateTopicsException exception)
            {
                foreach (var result in exception.Results)
                {
                    if (result.Error.Code is ErrorCode.NoError or ErrorCode.TopicAlreadyExists)
                    {
                        created.Add(result.Topic);
                    }
                    else
                    {
                        problems.Add($"Topic '{result.Topic}' is missing and could not be created: {result.Error.Reason} ({result.Error.Code}).");
                    }
                }
            }
            catch (KafkaException exception)
            {
                problems.AddRange(toCreate.Select(t => $"Topic '{t.Name}' is missing and could not be created: {exception.Error.Reason} ({exception.Error.Code})."));
            }
        }

        return new(created, problems);
    }

    private void CheckReplication(TopicMetadata topic, List<string> problems)
    {
        var replicas = topic.Partitions.Count == 0 ? 0 : topic.Partitions.Min(p => p.Replicas.Length);
        if (replicationFactor > 0 && replicas < replicationFactor)
        {
            problems.Add($"Topic '{topic.Topic}' has {replicas} replicas per partition, fewer than Pipeline:ReplicationFactor ({replicationFactor}).");
        }
    }
}
