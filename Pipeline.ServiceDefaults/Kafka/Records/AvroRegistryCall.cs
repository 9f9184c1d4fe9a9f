namespace Pipeline.ServiceDefaults.Kafka;

/// <summary>
/// Waits on a Schema Registry call, turning a registry out of reach (or answering a server error)
/// into <see cref="SchemaRegistryUnavailableException"/>. Only a schema not seen yet calls the
/// registry; the client caches its answers.
/// </summary>
internal static class AvroRegistryCall
{
    /// <summary>
    /// For the pipeline's synchronous record format, on a thread of its own (the processor's
    /// stream thread, the sink's consumer loop). Never on a request path: blocked threads there
    /// starve the pool the registry's answer needs (<see cref="AwaitAsync{T}"/>).
    /// </summary>
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
            throw Unavailable(exception);
        }
    }

    /// <summary>The same, awaited.</summary>
    public static async Task<T> AwaitAsync<T>(Task<T> task)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (Exception exception) when (IsRegistryUnavailable(exception))
        {
            throw Unavailable(exception);
        }
    }

    private static SchemaRegistryUnavailableException Unavailable(Exception exception) =>
        new("The Schema Registry could not be reached: " + exception.Message, exception);

    private static bool IsRegistryUnavailable(Exception exception) => exception switch
    {
        // Already said.
        SchemaRegistryUnavailableException => false,
        // Confluent's SchemaRegistryException is an HttpRequestException that the registry answered.
        Confluent.SchemaRegistry.SchemaRegistryException registry => (int)registry.Status >= 500,
        HttpRequestException or TaskCanceledException or TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsRegistryUnavailable),
        _ => exception.InnerException is { } inner && IsRegistryUnavailable(inner),
    };
}
