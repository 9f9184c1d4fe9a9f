namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// The local mode's Kafka: a <see cref="LocalKafkaBroker"/> hosted inside the AppHost
/// process. Its connection string (the bootstrap servers) is known only once the broker has
/// started, so services that reference it get it when they start, after it is Running.
/// </summary>
public sealed class LocalKafkaResource(string name, int partitions, IReadOnlyList<string> topics)
    : Resource(name), IResourceWithConnectionString
{
    private readonly TaskCompletionSource<LocalKafkaBroker> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The partition count of every topic the broker creates.</summary>
    public int Partitions { get; } = partitions;

    /// <summary>Every topic created before the broker reports Running.</summary>
    public IReadOnlyList<string> Topics { get; } = topics;

    /// <summary>The running broker, for tests that take it down and bring it back.</summary>
    public Task<LocalKafkaBroker> Broker => _started.Task;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{new BootstrapServers(this)}");

    internal void Started(LocalKafkaBroker broker) => _started.TrySetResult(broker);

    internal void FailedToStart(Exception exception) => _started.TrySetException(exception);

    private sealed class BootstrapServers(LocalKafkaResource resource) : IValueProvider, IManifestExpressionProvider
    {
        public string ValueExpression => $"{{{resource.Name}.connectionString}}";

        public async ValueTask<string?> GetValueAsync(CancellationToken cancellationToken = default) =>
            (await resource.Broker.WaitAsync(cancellationToken)).BootstrapServers;
    }
}
