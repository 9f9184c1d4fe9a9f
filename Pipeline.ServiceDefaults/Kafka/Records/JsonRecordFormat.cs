using System.Text.Json;
using Pipeline.Contracts;

namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>The JSON record format: <see cref="PipelineJsonContext"/>, strict on read.</summary>
internal sealed class JsonRecordFormat : PipelineRecordFormat
{
    public override RecordFormat Format => RecordFormat.Json;

    public override byte[] WriteEvent(PipelineEvent pipelineEvent) =>
        JsonSerializer.SerializeToUtf8Bytes(pipelineEvent, PipelineJsonContext.Default.PipelineEvent);

    public override RecordRead<PipelineEventDocument> ReadEvent(byte[] value)
    {
        try
        {
            return JsonSerializer.Deserialize(value, PipelineJsonContext.Default.PipelineEventDocument) is { } document
                ? new RecordRead<PipelineEventDocument>(document, null, null)
                : RecordRead<PipelineEventDocument>.Rejected(RecordFormatRejections.InvalidJson, "The value is JSON null.");
        }
        catch (InvalidUnicodeTextException exception)
        {
            return RecordRead<PipelineEventDocument>.Rejected(EventRuleCodes.InvalidUnicode, $"The event's {exception.Path} is not valid Unicode text.");
        }
        catch (JsonException exception)
        {
            return RecordRead<PipelineEventDocument>.Rejected(RecordFormatRejections.InvalidJson, "The value is not a PipelineEvent: " + exception.Message);
        }
    }

    public override byte[] WriteAggregateKey(AggregateId id) =>
        JsonSerializer.SerializeToUtf8Bytes(id, PipelineJsonContext.Default.AggregateId);

    public override byte[] WriteAggregate(AggregateRecord record) =>
        JsonSerializer.SerializeToUtf8Bytes(record, PipelineJsonContext.Default.AggregateRecord);

    public override RecordRead<AggregateRecord> ReadAggregate(byte[] value)
    {
        try
        {
            return JsonSerializer.Deserialize(value, PipelineJsonContext.Default.AggregateRecord) is { } record
                ? new RecordRead<AggregateRecord>(record, null, null)
                : RecordRead<AggregateRecord>.Rejected(RecordFormatRejections.InvalidJson, "The value is JSON null.");
        }
        catch (JsonException exception)
        {
            return RecordRead<AggregateRecord>.Rejected(RecordFormatRejections.InvalidJson, exception.Message);
        }
    }
}
