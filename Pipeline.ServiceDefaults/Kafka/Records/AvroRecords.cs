using Avro;
using Avro.Specific;
using Pipeline.Contracts;

// Hand-written specific records for the schemas in Pipeline.Contracts/Schemas (avrogen is not
// available here). Apache.Avro finds a specific record's class by the schema's full name, so the
// C# namespace and names must stay those of the .avsc files (Pipeline.Avro.*); Confluent's
// serializer reads the writer schema from the static _SCHEMA field, as avrogen would emit it.
#pragma warning disable CA1707, CA2211, IDE1006 // the _SCHEMA field is the name Confluent's serializer looks for
namespace Pipeline.Avro;

/// <summary>The Avro form of <see cref="Pipeline.Contracts.PipelineEvent"/> (<c>pipeline-event.avsc</c>).</summary>
public sealed class PipelineEvent : ISpecificRecord
{
    /// <summary>The schema, parsed once from the contracts.</summary>
    public static Schema _SCHEMA = Schema.Parse(RecordSchemas.Event);

    /// <inheritdoc />
    public Schema Schema => _SCHEMA;

    /// <summary>The event id.</summary>
    public string Id { get; set; } = "";

    /// <summary>The event key.</summary>
    public string Key { get; set; } = "";

    /// <summary>The event value.</summary>
    public double Value { get; set; }

    /// <summary>When the event happened, UTC.</summary>
    public DateTime Timestamp { get; set; }

    /// <inheritdoc />
    public object Get(int fieldPos) => fieldPos switch
    {
        0 => Id,
        1 => Key,
        2 => Value,
        3 => Timestamp,
        _ => throw new AvroRuntimeException($"Bad index {fieldPos} in Get()"),
    };

    /// <inheritdoc />
    public void Put(int fieldPos, object fieldValue)
    {
        switch (fieldPos)
        {
            case 0: Id = (string)fieldValue; break;
            case 1: Key = (string)fieldValue; break;
            case 2: Value = (double)fieldValue; break;
            case 3: Timestamp = AvroTime.ToDateTime(fieldValue, micros: false); break;
            default: throw new AvroRuntimeException($"Bad index {fieldPos} in Put()");
        }
    }
}

/// <summary>The Avro form of <see cref="AggregateId"/> as the aggregates topic's record key (<c>aggregate-key.avsc</c>).</summary>
public sealed class AggregateKey : ISpecificRecord
{
    /// <summary>The schema, parsed once from the contracts.</summary>
    public static Schema _SCHEMA = Schema.Parse(RecordSchemas.AggregateKey);

    /// <inheritdoc />
    public Schema Schema => _SCHEMA;

    /// <summary>The event key.</summary>
    public string Key { get; set; } = "";

    /// <summary>The window: <c>all</c> or a size.</summary>
    public string Window { get; set; } = "";

    /// <summary>The window's start, UTC.</summary>
    public DateTime WindowStart { get; set; }

    /// <inheritdoc />
    public object Get(int fieldPos) => fieldPos switch
    {
        0 => Key,
        1 => Window,
        2 => WindowStart,
        _ => throw new AvroRuntimeException($"Bad index {fieldPos} in Get()"),
    };

    /// <inheritdoc />
    public void Put(int fieldPos, object fieldValue)
    {
        switch (fieldPos)
        {
            case 0: Key = (string)fieldValue; break;
            case 1: Window = (string)fieldValue; break;
            case 2: WindowStart = AvroTime.ToDateTime(fieldValue, micros: true); break;
            default: throw new AvroRuntimeException($"Bad index {fieldPos} in Put()");
        }
    }
}

/// <summary>The Avro form of <see cref="Pipeline.Contracts.AggregateRecord"/> (<c>aggregate-record.avsc</c>).</summary>
public sealed class AggregateRecord : ISpecificRecord
{
    /// <summary>The schema, parsed once from the contracts.</summary>
    public static Schema _SCHEMA = Schema.Parse(RecordSchemas.Aggregate);

    /// <inheritdoc />
    public Schema Schema => _SCHEMA;

    /// <summary>The event key.</summary>
    public string Key { get; set; } = "";

    /// <summary>The window: <c>all</c> or a size.</summary>
    public string Window { get; set; } = "";

    /// <summary>The window's start, UTC.</summary>
    public DateTime WindowStart { get; set; }

    /// <summary>The window's end, UTC; null for all-time totals.</summary>
    public DateTime? WindowEnd { get; set; }

    /// <summary>Events counted.</summary>
    public long Count { get; set; }

    /// <summary>Their sum.</summary>
    public double Sum { get; set; }

    /// <summary>The smallest value.</summary>
    public double Min { get; set; }

    /// <summary>The largest value.</summary>
    public double Max { get; set; }

    /// <summary>The mean.</summary>
    public double Mean { get; set; }

    /// <summary>Whether the window has closed.</summary>
    public bool Final { get; set; }

    /// <summary>Strictly increasing with every change of the aggregate.</summary>
    public long Version { get; set; }

    /// <summary>When the processor last changed it, UTC.</summary>
    public DateTime UpdatedAt { get; set; }

    /// <inheritdoc />
    public object? Get(int fieldPos) => fieldPos switch
    {
        0 => Key,
        1 => Window,
        2 => WindowStart,
        3 => WindowEnd,
        4 => Count,
        5 => Sum,
        6 => Min,
        7 => Max,
        8 => Mean,
        9 => Final,
        10 => Version,
        11 => UpdatedAt,
        _ => throw new AvroRuntimeException($"Bad index {fieldPos} in Get()"),
    };

    /// <inheritdoc />
    public void Put(int fieldPos, object? fieldValue)
    {
        switch (fieldPos)
        {
            case 0: Key = (string)fieldValue!; break;
            case 1: Window = (string)fieldValue!; break;
            case 2: WindowStart = AvroTime.ToDateTime(fieldValue!, micros: true); break;
            case 3: WindowEnd = fieldValue is null ? null : AvroTime.ToDateTime(fieldValue, micros: true); break;
            case 4: Count = (long)fieldValue!; break;
            case 5: Sum = (double)fieldValue!; break;
            case 6: Min = (double)fieldValue!; break;
            case 7: Max = (double)fieldValue!; break;
            case 8: Mean = (double)fieldValue!; break;
            case 9: Final = (bool)fieldValue!; break;
            case 10: Version = (long)fieldValue!; break;
            case 11: UpdatedAt = AvroTime.ToDateTime(fieldValue!, micros: true); break;
            default: throw new AvroRuntimeException($"Bad index {fieldPos} in Put()");
        }
    }
}

/// <summary>Apache.Avro hands timestamp logical types over as <see cref="DateTime"/>; a raw long is taken too.</summary>
internal static class AvroTime
{
    public static DateTime ToDateTime(object value, bool micros) => value switch
    {
        DateTime time => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        long raw => DateTime.UnixEpoch.AddTicks(micros ? raw * 10 : raw * TimeSpan.TicksPerMillisecond),
        _ => throw new AvroRuntimeException($"A timestamp cannot be a {value.GetType().Name}."),
    };
}
