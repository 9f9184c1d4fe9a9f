namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// One sighting of an event id: its store key (event key and id, see <see cref="EventIdRegistry"/>),
/// the source offset it was first seen at, and the partition's stream time then.
/// </summary>
internal readonly record struct RememberedId(string Id, long Offset, long SeenMs);
