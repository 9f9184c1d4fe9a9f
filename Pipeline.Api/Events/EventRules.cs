namespace Pipeline.Api.Events;

/// <summary>The limits every event of one request is checked against; the receipt time is the request's.</summary>
internal readonly record struct EventRules(DateTimeOffset ReceivedAt, TimeSpan MaxEventAge, TimeSpan MaxClockSkew, int MaxBatchSize);
