using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>Stable reason codes of the records the sink dead-letters.</summary>
internal static class DeadLetterReasons
{
    /// <summary>The record has no value (a tombstone); the stream processor never sends one.</summary>
    public const string NullValue = "null-value";

    /// <summary>The value is not JSON of an <see cref="AggregateRecord"/> (JSON format); the Avro format's reasons are in <see cref="RecordFormatRejections"/>.</summary>
    public const string InvalidJson = RecordFormatRejections.InvalidJson;

    /// <summary>The value is an <see cref="AggregateRecord"/> that breaks a rule of the table it would go to.</summary>
    public const string InvalidAggregate = "invalid-aggregate";

    /// <summary>PostgreSQL refused the record itself (a data or constraint error), though it passed the checks here.</summary>
    public const string RejectedByDatabase = "rejected-by-database";
}

/// <summary>The outcome of reading one record's value: an aggregate, or why there is none.</summary>
internal readonly record struct ParsedAggregate(AggregateRecord? Record, string? Reason, string? Detail)
{
    public static ParsedAggregate Rejected(string reason, string detail) => new(null, reason, detail);
}

/// <summary>
/// Reads and checks an aggregate record. Everything PostgreSQL would refuse for one record is
/// refused here first, so that a bad record is dead-lettered on its own instead of failing the
/// whole batch it arrived in. The record's value carries its identity; the record key only
/// routes it to a partition and is not read.
/// </summary>
internal static partial class AggregateRecordParser
{
    /// <summary>
    /// Longest key in UTF-8 bytes: well under the ~2.7 kB a btree index entry may take, and it
    /// keeps a change notification far below PostgreSQL's 8000-byte payload limit.
    /// </summary>
    public const int MaxKeyBytes = 1024;

    public static ParsedAggregate Parse(byte[]? value) => Parse(PipelineRecordFormat.Json, value);

    public static ParsedAggregate Parse(PipelineRecordFormat format, byte[]? value)
    {
        if (value is null)
        {
            return ParsedAggregate.Rejected(DeadLetterReasons.NullValue, "The record has no value.");
        }

        // The format is strict about unknown and missing members: a missing count or version
        // would otherwise read as 0 and be stored as a real figure.
        var read = format.ReadAggregate(value);
        if (read.Message is not { } record)
        {
            return ParsedAggregate.Rejected(read.Reason!, read.Detail!);
        }

        var problem = Check(record);
        return problem is null
            ? new ParsedAggregate(Normalize(record), null, null)
            : ParsedAggregate.Rejected(DeadLetterReasons.InvalidAggregate, problem);
    }

    private static string? Check(AggregateRecord record)
    {
        if (string.IsNullOrEmpty(record.Key))
        {
            return "The key is empty.";
        }

        if (Encoding.UTF8.GetByteCount(record.Key) > MaxKeyBytes)
        {
            return $"The key is longer than {MaxKeyBytes} UTF-8 bytes.";
        }

        // PostgreSQL text cannot hold U+0000.
        if (record.Key.Contains('\0', StringComparison.Ordinal))
        {
            return "The key contains a NUL character.";
        }

        if (record.Window != WindowNames.AllTime && !WindowSizePattern().IsMatch(record.Window))
        {
            return $"The window '{Truncate(record.Window)}' is neither '{WindowNames.AllTime}' nor a size such as 1m or 1h.";
        }

        if (record.Window != WindowNames.AllTime)
        {
            if (record.WindowEnd is not { } end)
            {
                return "A window of fixed size needs a windowEnd.";
            }

            if (end <= record.WindowStart)
            {
                return "The windowEnd is not after the windowStart.";
            }
        }

        if (!double.IsFinite(record.Sum) || !double.IsFinite(record.Min) || !double.IsFinite(record.Max) || !double.IsFinite(record.Mean))
        {
            return "A figure is not a finite number.";
        }

        return null;
    }

    // PostgreSQL keeps microseconds; two instants that differ by less would be two aggregates here
    // and one row there, and the second upsert of that row in one statement would fail the batch.
    private static AggregateRecord Normalize(AggregateRecord record) => record with
    {
        WindowStart = ToMicroseconds(record.WindowStart),
        WindowEnd = record.WindowEnd is { } end ? ToMicroseconds(end) : null,
        UpdatedAt = ToMicroseconds(record.UpdatedAt),
    };

    private static DateTimeOffset ToMicroseconds(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - ticks % 10, TimeSpan.Zero);
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";

    [GeneratedRegex("^[1-9][0-9]{0,5}[smhd]$", RegexOptions.CultureInvariant)]
    private static partial Regex WindowSizePattern();
}
