namespace Pipeline.StreamProcessor.Aggregation;

/// <summary>
/// The binary form of the processor's store records. Compact because every commit rewrites the
/// record of each key that changed, and the changelog topics carry all of it.
/// </summary>
internal static class StateCodec
{
    private const byte FormatVersion = 1;
    private const byte FinalFlag = 1;
    private const byte CompensationFlag = 2;

    public static byte[] Write(KeyState state)
    {
        using var buffer = new MemoryStream(32 + state.Aggregates.Count * 56);
        using var writer = new BinaryWriter(buffer);
        writer.Write(FormatVersion);
        writer.Write7BitEncodedInt64(state.LastAppliedOffset + 1);
        writer.Write7BitEncodedInt(state.ClosedThrough.Count);
        foreach (var (sizeMs, end) in state.ClosedThrough)
        {
            writer.Write7BitEncodedInt64(sizeMs);
            writer.Write(end);
        }

        writer.Write7BitEncodedInt(state.Aggregates.Count);
        foreach (var aggregate in state.Aggregates)
        {
            var flags = (byte)((aggregate.Final ? FinalFlag : 0) | (aggregate.Compensation != 0 ? CompensationFlag : 0));
            writer.Write(flags);
            writer.Write7BitEncodedInt64(aggregate.SizeMs);
            writer.Write(aggregate.StartMs);
            writer.Write7BitEncodedInt64(aggregate.Count);
            writer.Write(aggregate.Sum);
            if (aggregate.Compensation != 0)
            {
                writer.Write(aggregate.Compensation);
            }

            writer.Write(aggregate.Min);
            writer.Write(aggregate.Max);
            writer.Write7BitEncodedInt64(aggregate.Version);
            writer.Write7BitEncodedInt64(aggregate.EmittedVersion);
            writer.Write7BitEncodedInt64(aggregate.UpdatedAtMs);
        }

        writer.Flush();
        return buffer.ToArray();
    }

    public static KeyState ReadKeyState(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
        var format = reader.ReadByte();
        if (format != FormatVersion)
        {
            throw new InvalidDataException($"Unknown aggregate state format {format}.");
        }

        var state = new KeyState { LastAppliedOffset = reader.Read7BitEncodedInt64() - 1 };
        var closedCount = reader.Read7BitEncodedInt();
        for (var i = 0; i < closedCount; i++)
        {
            var sizeMs = reader.Read7BitEncodedInt64();
            state.ClosedThrough[sizeMs] = reader.ReadInt64();
        }

        var aggregateCount = reader.Read7BitEncodedInt();
        for (var i = 0; i < aggregateCount; i++)
        {
            var flags = reader.ReadByte();
            var aggregate = new AggregateState
            {
                SizeMs = reader.Read7BitEncodedInt64(),
                StartMs = reader.ReadInt64(),
                Count = reader.Read7BitEncodedInt64(),
                Sum = reader.ReadDouble(),
            };
            aggregate.Compensation = (flags & CompensationFlag) != 0 ? reader.ReadDouble() : 0;
            aggregate.Min = reader.ReadDouble();
            aggregate.Max = reader.ReadDouble();
            aggregate.Version = reader.Read7BitEncodedInt64();
            aggregate.EmittedVersion = reader.Read7BitEncodedInt64();
            aggregate.UpdatedAtMs = reader.Read7BitEncodedInt64();
            aggregate.Final = (flags & FinalFlag) != 0;
            // What came from the store is durable and needs no second hand-over unless it changes.
            aggregate.CapturedVersion = aggregate.Version;
            state.Aggregates.Add(aggregate);
        }

        return state;
    }

    /// <summary>
    /// An event id's first sighting as the event-ids store held it before it held the ids of a
    /// commit together: its source offset and the partition's stream time then. Still read, so a
    /// processor restores what an older one wrote.
    /// </summary>
    public static byte[] WriteEventId(long offset, long timestampMs)
    {
        Span<byte> scratch = stackalloc byte[20];
        var length = WriteVarint(scratch, (ulong)offset);
        length += WriteVarint(scratch[length..], (ulong)timestampMs);
        return scratch[..length].ToArray();
    }

    public static (long Offset, long TimestampMs) ReadEventId(byte[] bytes)
    {
        var position = 0;
        var offset = (long)ReadVarint(bytes, ref position);
        var timestamp = (long)ReadVarint(bytes, ref position);
        return (offset, timestamp);
    }

    /// <summary>
    /// A record of the event-ids store: the ids first seen since the previous one (from
    /// <paramref name="from"/> on), in the order they were seen.
    /// </summary>
    public static byte[] WriteEventIds(IReadOnlyList<RememberedId> ids, int from)
    {
        using var buffer = new MemoryStream(16 + (ids.Count - from) * 64);
        using var writer = new BinaryWriter(buffer);
        writer.Write(FormatVersion);
        writer.Write7BitEncodedInt(ids.Count - from);
        for (var i = from; i < ids.Count; i++)
        {
            writer.Write(ids[i].Id);
            writer.Write7BitEncodedInt64(ids[i].Offset);
            writer.Write7BitEncodedInt64(ids[i].SeenMs);
        }

        writer.Flush();
        return buffer.ToArray();
    }

    public static List<RememberedId> ReadEventIds(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
        var format = reader.ReadByte();
        if (format != FormatVersion)
        {
            throw new InvalidDataException($"Unknown event ids format {format}.");
        }

        var count = reader.Read7BitEncodedInt();
        var ids = new List<RememberedId>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add(new RememberedId(reader.ReadString(), reader.Read7BitEncodedInt64(), reader.Read7BitEncodedInt64()));
        }

        return ids;
    }

    public static byte[] WriteLong(long value) => BitConverter.GetBytes(value);

    public static long ReadLong(byte[] bytes) => BitConverter.ToInt64(bytes);

    private static int WriteVarint(Span<byte> target, ulong value)
    {
        var length = 0;
        while (value >= 0x80)
        {
            target[length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        target[length++] = (byte)value;
        return length;
    }

    private static ulong ReadVarint(byte[] bytes, ref int position)
    {
        ulong value = 0;
        var shift = 0;
        byte current;
        do
        {
            current = bytes[position++];
            value |= (ulong)(current & 0x7F) << shift;
            shift += 7;
        }
        while ((current & 0x80) != 0);

        return value;
    }
}
