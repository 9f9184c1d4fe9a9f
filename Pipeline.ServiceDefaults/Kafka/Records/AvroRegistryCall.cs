namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Waits on a Schema Registry call from the pipeline's synchronous record format, turning a
/// registry out of reach (or answering a server error) into <see cref="SchemaRegistryUnavailableException"/>.
/// Only a schema not seen yet calls the registry; the client caches its answers.
/// </summary>
internal static class AvroRegistryCall
{
    public static T Wait<T>(Task<T> task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return task.Result;
        }

        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (Exception exception) when (IsRegistryUnavailable(exception))
        {
            throw new SchemaRegistryUnavailableException("The Schema Registry could not be reached: " + exception.Message, exception);
        }
    }

    private static bool IsRegistryUnavailable(Exception exception) => exception switch
    {
        // Confluent's SchemaRegistryException is an HttpRequestException that the registry answered.
        Confluent.SchemaRegistry.SchemaRegistryException registry => (int)registry.Status >= 500,
        HttpRequestException or TaskCanceledException or TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsRegistryUnavailable),
        _ => exception.InnerException is { } inner && IsRegistryUnavailable(inner),
    };
}
