using Pipeline.Contracts;
using Pipeline.StreamProcessor.Configuration;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Processors.Public;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.State.Supplier;
using Streamiz.Kafka.Net.Stream;

namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// events (raw bytes) → <see cref="EventAggregator"/> (with the aggregates and event-ids
/// stores) → one sink that writes aggregate updates to <c>aggregates</c> and rejected records
/// to <c>dead-letter</c>. The events topic is keyed by event key, so every aggregate of a key
/// lives in one task: no repartitioning, and no internal topics but the two changelogs.
/// </summary>
internal static class AggregationTopology
{
    public static Topology Build(AggregatorBlueprint blueprint, StateStoreKind stateStore)
    {
        var builder = new StreamBuilder();

        var eventIds = new ProcessorStoreBuilder(
            Stores.KeyValueStoreBuilder(Supplier(StreamProcessorTopology.EventIdsStore, stateStore), new StringSerDes(), new ByteArraySerDes())
                .WithCachingDisabled());
        builder.AddStateStore(eventIds);

        var aggregates = new ProcessorStoreBuilder(
            Stores.KeyValueStoreBuilder(Supplier(StreamProcessorTopology.AggregatesStore, stateStore), new StringSerDes(), new ByteArraySerDes())
                .WithCachingDisabled());

        builder
            .Stream(Topics.Events, new SourceKeySerDes(), new ByteArraySerDes(), "read-events")
            .Transform(
                TransformerBuilder.New<SourceKey, byte[], byte[], ProcessorOutput>()
                    .Transformer<EventAggregator>(blueprint)
                    .StateStore(aggregates)
                    .Build(),
                "aggregate-events",
                StreamProcessorTopology.EventIdsStore)
            .To(new ProcessorOutputTopic(), new PartitionByKey(), new ByteArraySerDes(), new ProcessorOutputSerDes(), "write-outputs");

        return builder.Build();
    }

    private static IKeyValueBytesStoreSupplier Supplier(string name, StateStoreKind kind) => kind switch
    {
        StateStoreKind.RocksDb => Stores.PersistentKeyValueStore(name),
        _ => Stores.InMemoryKeyValueStore(name),
    };
}
