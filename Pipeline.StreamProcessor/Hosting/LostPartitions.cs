using Confluent.Kafka;
using Streamiz.Kafka.Net.Kafka;

namespace Pipeline.StreamProcessor.Hosting;

/// <summary>
/// Streamiz's client builder, with the partitions-lost handler that Streamiz 1.8 leaves unset on
/// its stream threads' consumers. Without it Confluent.Kafka hands a lost assignment (the group
/// coordinator no longer knows the member: UnknownMemberId, IllegalGeneration, an expired session)
/// to the revocation handler, which commits first. That commit is bound to fail, and Streamiz then
/// leaves its task manager marked as rebalancing: the stream thread sleeps from then on without
/// polling. With the handler, a lost assignment closes the tasks without a commit (Streamiz's
/// <c>HandleLostAll</c>, as Kafka Streams' <c>onPartitionsLost</c>) and the consumer rejoins; the
/// events since the last commit are processed again and deduplicated.
/// </summary>
internal sealed class LostPartitionsClientBuilder : DefaultKafkaClientBuilder
{
    private readonly Lock _gate = new();
    private IConsumerRebalanceListener? _building;

    /// <summary>Runs <paramref name="build"/>, which builds a consumer through this builder, handing lost partitions to <paramref name="listener"/>.</summary>
    public IConsumer<byte[], byte[]> BuildFor(IConsumerRebalanceListener listener, Func<IConsumer<byte[], byte[]>> build)
    {
        lock (_gate)
        {
            _building = listener;
            try
            {
                return build();
            }
            finally
            {
                _building = null;
            }
        }
    }

    public override ConsumerBuilder<byte[], byte[]> GetConsumerBuilder(ConsumerConfig config)
    {
        var builder = base.GetConsumerBuilder(config);
        if (_building is { } listener)
        {
            builder.SetPartitionsLostHandler(listener.PartitionsLost);
        }

        return builder;
    }
}

/// <summary>
/// A stream thread handing its partitions back in a rebalance, as its consumer and its rebalance
/// listener see it (both run on the thread's poll). Streamiz commits the revoked tasks' offsets
/// first, and a commit the group refuses then (the coordinator is rebalancing, or no longer knows
/// the member) fails the whole revocation: the revoked tasks are left open and Streamiz's task
/// manager marked as rebalancing, so that the thread never polls again (RebalanceTests: a heartbeat
/// answered RebalanceInProgress, then the commit refused, as the local broker does while members rejoin).
/// A commit refused during the hand-back is therefore noted here instead of thrown: the tasks close
/// as in any revocation, and the next owner processes the events since the last commit again, which
/// the aggregation counts once.
/// </summary>
internal sealed class PartitionHandBack
{
    public bool InProgress { get; private set; }

    /// <summary>The commit the group refused during the hand-back in progress, if any.</summary>
    public Error? RefusedCommit { get; private set; }

    public void Begin()
    {
        InProgress = true;
        RefusedCommit = null;
    }

    public void End() => InProgress = false;

    public void Refused(Error error) => RefusedCommit = error;
}

/// <summary>
/// A stream thread's rebalance listener that says when the thread lost its partitions or could not
/// commit while handing them back (<see cref="PartitionHandBack"/>), and that never leaves the
/// thread waiting for a rebalance that has ended: when Streamiz's revocation fails anyway, the tasks
/// it had not closed yet are closed as lost, which ends Streamiz's rebalance mark, before the
/// failure goes on to Streamiz (which rejoins the group, or fails the stream, which is then started
/// afresh).
/// </summary>
internal sealed partial class LostPartitionsListener(IConsumerRebalanceListener inner, PartitionHandBack handBack, ILogger logger) : IConsumerRebalanceListener
{
    public void PartitionsAssigned(IConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) =>
        inner.PartitionsAssigned(consumer, partitions);

    public void PartitionsRevoked(IConsumer<byte[], byte[]> consumer, List<TopicPartitionOffset> partitions)
    {
        handBack.Begin();
        try
        {
            inner.PartitionsRevoked(consumer, partitions);
            if (handBack.RefusedCommit is { } refused)
            {
                LogCommitRefused(logger, partitions.Count, refused.Reason);
            }
        }
        catch (Exception exception)
        {
            LogRevocationFailed(logger, exception, partitions.Count);
            inner.PartitionsLost(consumer, partitions);
            throw;
        }
        finally
        {
            handBack.End();
        }
    }

    public void PartitionsLost(IConsumer<byte[], byte[]> consumer, List<TopicPartitionOffset> partitions)
    {
        LogLost(logger, partitions.Count, consumer.MemberId);
        inner.PartitionsLost(consumer, partitions);
    }

    [LoggerMessage(30, LogLevel.Warning,
        "A stream thread lost its partitions ({Partitions}): its consumer group no longer knows it (member '{MemberId}'). " +
        "Its tasks are closed without a commit and it rejoins; the events since its last commit are processed again, and counted once.")]
    private static partial void LogLost(ILogger logger, int partitions, string memberId);

    [LoggerMessage(31, LogLevel.Error,
        "A stream thread could not hand back its partitions ({Partitions}) in a rebalance; its tasks are closed as lost, without a commit. " +
        "The events since its last commit are processed again, and counted once.")]
    private static partial void LogRevocationFailed(ILogger logger, Exception exception, int partitions);

    [LoggerMessage(32, LogLevel.Warning,
        "A stream thread handed back its partitions ({Partitions}) in a rebalance without committing their offsets: the group refused the commit ({Reason}). " +
        "Their next owner processes the events since the last commit again, and counts them once.")]
    private static partial void LogCommitRefused(ILogger logger, int partitions, string reason);
}
