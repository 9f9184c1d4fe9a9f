using System.Globalization;
using Confluent.Kafka;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// Decides, once a task's stores are restored and before it processes anything, whether they hold
/// the task's whole state, and refuses to run the task when they cannot.
/// <para>
/// A store restored from its changelog alone is complete only while the changelog still starts at
/// offset 0. A real broker compacts changelogs (their log start stays 0), but the local broker
/// keeps only the newest 5 MiB of each partition: after a long run its changelogs no longer hold
/// the keys that went idle. So the local mode keeps the stores on disk (RocksDB, never wiped) and
/// restores only the changelogs' tail over them. A persistent store that was complete once stays
/// complete, and a marker file in the task's state directory says so.
/// </para>
/// <para>
/// Refused: a store without that marker whose changelog no longer starts at 0 (state would be
/// missing keys and event ids), and a store with data and the marker whose changelogs are empty (a
/// state directory from another Kafka cluster, or from topics deleted since). A refusal is
/// reported through <see cref="RecordLoss"/> (Critical log, metric, Unhealthy) and stops the task:
/// partial state is never used silently.
/// </para>
/// </summary>
internal static class StateCompleteness
{
    public const string MarkerFileName = "pipeline-state-complete";

    private const string Consequence = "the processor refuses to run this task rather than count on partial state";

    /// <summary>Throws <see cref="IncompleteStateException"/> when the task's state cannot be whole; marks it whole otherwise.</summary>
    public static void Verify(TaskState task, Func<TopicPartition, WatermarkOffsets> watermarks, RecordLoss? loss)
    {
        var changelogs = StreamProcessorTopology.InternalTopics(task.ApplicationId)
            .Select(topic => new TopicPartition(topic, task.Partition))
            .Select(changelog => (Changelog: changelog, Watermarks: watermarks(changelog)))
            .ToList();
        var marker = Path.Combine(task.StateDirectory, MarkerFileName);
        var marked = task.Persistent && File.Exists(marker);

        if (marked && task.HasData && changelogs.All(changelog => changelog.Watermarks.High.Value <= 0))
        {
            var (changelog, _) = changelogs[0];
            Refuse(loss, changelog, 0, null,
                $"the state directory {task.StateDirectory} holds state but the changelogs are empty: it belongs to another Kafka cluster or to topics deleted since (delete it to start empty)");
        }

        if (!marked)
        {
            foreach (var (changelog, offsets) in changelogs)
            {
                if (offsets.Low.Value > 0)
                {
                    Refuse(loss, changelog, 0, offsets.Low.Value, task.Persistent
                        ? "the changelog no longer starts at offset 0 and this state directory was not kept from before, so the restored state would miss keys and event ids (the local broker does not compact; keep StreamProcessor:StateDirectory between restarts)"
                        : "the changelog no longer starts at offset 0 and an in-memory store restores from the changelog alone, so it would miss keys and event ids (use StreamProcessor:StateStore=RocksDb with the local broker)");
                }
            }

            if (task.Persistent)
            {
                Directory.CreateDirectory(task.StateDirectory);
                File.WriteAllText(marker, string.Create(CultureInfo.InvariantCulture,
                    $"The stores of this task held its whole state when this was written ({DateTimeOffset.UtcNow:O}).\n"));
            }
        }
    }

    private static void Refuse(RecordLoss? loss, TopicPartition changelog, long from, long? to, string cause)
    {
        loss?.Report(changelog.Topic, changelog.Partition.Value, from, to, "state restore incomplete: " + cause, Consequence);
        throw new IncompleteStateException(string.Create(CultureInfo.InvariantCulture,
            $"The state of task {changelog.Partition.Value} cannot be restored completely from {changelog.Topic}: {cause}."));
    }

    /// <summary>What the check needs to know about one task.</summary>
    internal sealed record TaskState(string ApplicationId, int Partition, string StateDirectory, bool Persistent, bool HasData);
}

/// <summary>Thrown when a task's stores cannot hold its whole state; the task does not run.</summary>
internal sealed class IncompleteStateException(string message) : Exception(message);
