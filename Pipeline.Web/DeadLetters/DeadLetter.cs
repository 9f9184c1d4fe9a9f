namespace Pipeline.Web.DeadLetters;

/// <summary>One record a service could not handle, as its dead-letter headers describe it.</summary>
public sealed record DeadLetter(
    DateTimeOffset Timestamp, string Reason, string? Detail, string? Service, string? SourceTopic, string? SourcePartition, string? SourceOffset,
    int Partition, long Offset);
