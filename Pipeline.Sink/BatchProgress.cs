using Confluent.Kafka;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>One batch and how far it got; a retry skips the stages already done.</summary>
internal sealed class BatchProgress
{
    public BatchProgress(List<ConsumeResult<byte[]?, byte[]?>> batch, PipelineRecordFormat format)
    {
        foreach (var result in batch)
        {
            var parsed = AggregateRecordParser.Parse(format, result.Message.Value);
            if (parsed.Record is { } record)
            {
                Valid.Add((result, record));
            }
            else
            {
                Rejected.Add((result, parsed.Reason!, parsed.Detail!));
            }
        }
    }

    public List<(ConsumeResult<byte[]?, byte[]?> Source, AggregateRecord Record)> Valid { get; } = [];

    public List<(ConsumeResult<byte[]?, byte[]?> Source, string Reason, string Detail)> Rejected { get; } = [];

    public bool Written { get; set; }

    public bool DeadLettered { get; set; }
}
