using Confluent.Kafka;
using Pipeline.Contracts;
using Pipeline.ServiceDefaults.Kafka;

namespace Pipeline.Sink;

/// <summary>One batch and how far it got; a retry skips the stages already done.</summary>
internal sealed class BatchProgress
{
    private readonly List<ConsumeResult<byte[]?, byte[]?>> _batch;
    private readonly PipelineRecordFormat _format;

    public BatchProgress(List<ConsumeResult<byte[]?, byte[]?>> batch, PipelineRecordFormat format)
    {
        _batch = batch;
        _format = format;
    }

    /// <summary>Whether every record has been read (the Avro format may have to wait for its registry first).</summary>
    public bool Parsed { get; private set; }

    /// <summary>Reads every record of the batch; throws <see cref="SchemaRegistryUnavailableException"/> to be retried.</summary>
    public void Parse()
    {
        Valid.Clear();
        Rejected.Clear();
        foreach (var result in _batch)
        {
            var parsed = AggregateRecordParser.Parse(_format, result.Message.Value);
            if (parsed.Record is { } record)
            {
                Valid.Add((result, record));
            }
            else
            {
                Rejected.Add((result, parsed.Reason!, parsed.Detail!));
            }
        }

        Parsed = true;
    }

    public List<(ConsumeResult<byte[]?, byte[]?> Source, AggregateRecord Record)> Valid { get; } = [];

    public List<(ConsumeResult<byte[]?, byte[]?> Source, string Reason, string Detail)> Rejected { get; } = [];

    public bool Written { get; set; }

    public bool DeadLettered { get; set; }
}
