using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// A real Kafka wire-protocol broker on 127.0.0.1: librdkafka's mock cluster, driven through
/// its C API (<c>rdkafka_mock.h</c>) in the native library Confluent.Kafka itself loaded.
/// It keeps every record in memory and does not implement transactions faithfully: it is a
/// development and test broker, never a production one.
/// </summary>
public sealed unsafe class LocalKafkaBroker : IDisposable
{
    /// <summary>
    /// What the broker keeps of each partition: past this many bytes of record batches, or
    /// <see cref="RetainedBatchesPerPartition"/> batches, it drops the oldest batches silently and
    /// the log start moves up (<c>max_size</c> and <c>max_cnt</c> in librdkafka's rdkafka_mock.c,
    /// fixed, with no setter; measured by LocalKafkaBrokerTests). Nothing is ever compacted.
    /// </summary>
    public const long RetainedBytesPerPartition = 5 * 1024 * 1024;

    /// <summary>The most record batches a partition keeps (see <see cref="RetainedBytesPerPartition"/>).</summary>
    public const int RetainedBatchesPerPartition = 100_000;

    /// <summary>
    /// The room one record of the pipeline's topics is given when the backlog bound is worked out:
    /// an event or an aggregate update with a key of up to a few hundred bytes, its trace headers
    /// and the batch framing. Typical records take 250–550 bytes.
    /// </summary>
    public const int RecordBytesBudget = 1024;

    /// <summary>
    /// How many records may wait on a partition before the API holds back new events: half of
    /// what the broker keeps at <see cref="RecordBytesBudget"/> bytes a record, so that what is
    /// accepted between two backlog measurements still fits. 2,560.
    /// </summary>
    public const long SafeBacklogRecordsPerPartition =
        (RetainedBytesPerPartition / RecordBytesBudget < RetainedBatchesPerPartition ? RetainedBytesPerPartition / RecordBytesBudget : RetainedBatchesPerPartition) / 2;

    private const int ProducerType = 0; // RD_KAFKA_PRODUCER
    private const int AllBrokers = -1;

    private readonly Native _native;
    private readonly Lock _gate = new();
    private readonly IPEndPoint[] _listeners;
    private nint _client;
    private nint _cluster;

    private LocalKafkaBroker(Native native, nint client, nint cluster, int brokerCount)
    {
        _native = native;
        _client = client;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8(native.ClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("The local Kafka broker reported no bootstrap servers.");
        _listeners = [.. BootstrapServers.Split(',').Select(ParseListener)];
    }

    /// <summary>The <c>host:port</c> list clients connect to.</summary>
    public string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has (ids 1..BrokerCount).</summary>
    public int BrokerCount { get; }

    /// <summary>Whether <see cref="TakeDown"/> was called without a <see cref="BringUp"/> since.</summary>
    public bool IsDown { get; private set; }

    /// <summary>
    /// Starts a cluster of <paramref name="brokerCount"/> brokers listening on loopback.
    /// <paramref name="groupInitialRebalanceDelay"/> is how long a new consumer group waits
    /// for more members before its first assignment (Kafka's default is 3 s).
    /// </summary>
    public static LocalKafkaBroker Start(int brokerCount = 1, TimeSpan? groupInitialRebalanceDelay = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var native = Native.Bind();

        var conf = native.ConfNew();
        SetConf(native, conf, "client.id", "pipeline-local-kafka");
        // This handle never connects anywhere; without this it warns that it has no bootstrap servers.
        SetConf(native, conf, "log_level", "3");
        // The mock cluster needs a client handle for its own bookkeeping; nothing is produced through it.
        var errorText = stackalloc byte[512];
        var client = native.New(ProducerType, conf, errorText, 512);
        if (client == 0)
        {
            throw new InvalidOperationException("librdkafka could not create a client: " + Marshal.PtrToStringUTF8((nint)errorText));
        }

        var cluster = native.ClusterNew(client, brokerCount);
        if (cluster == 0)
        {
            native.Destroy(client);
            throw new InvalidOperationException("librdkafka could not start its mock cluster.");
        }

        native.GroupInitialRebalanceDelayMs(cluster, (int)(groupInitialRebalanceDelay ?? TimeSpan.Zero).TotalMilliseconds);
        return new LocalKafkaBroker(native, client, cluster, brokerCount);
    }

    /// <summary>Creates a topic with <paramref name="partitions"/> partitions; creating an existing one is a no-op.</summary>
    public void CreateTopic(string name, int partitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        lock (_gate)
        {
            var error = WithUtf8(name, topic => _native.TopicCreate(EnsureRunning(), topic, partitions, 1));
            if (error != 0 && error != (int)ErrorCode.TopicAlreadyExists)
            {
                throw new InvalidOperationException($"The local Kafka broker could not create topic '{name}': {(ErrorCode)error}.");
            }
        }
    }

    /// <summary>
    /// Disconnects every client and refuses new connections until <see cref="BringUp"/>; nothing
    /// stored is lost. The mock keeps each port with a socket that does not listen meanwhile: a
    /// program that binds that port number with SO_REUSEADDR and listens can take it (Linux allows
    /// it while nobody listens), and then <see cref="BringUp"/> fails. Holding the port with a
    /// listener of our own was tried and dropped: librdkafka takes a connection reset during its
    /// ApiVersion request for a broker too old to have one, and falls back to old protocol versions.
    /// </summary>
    public void TakeDown()
    {
        lock (_gate)
        {
            if (IsDown)
            {
                return;
            }

            _native.BrokerSetDown(EnsureRunning(), AllBrokers);
            IsDown = true;
        }
    }

    /// <summary>
    /// Accepts connections again after <see cref="TakeDown"/>, on the same ports; throws when a
    /// broker cannot listen there again (librdkafka says so only on standard error), rather than
    /// leave its clients knocking on a closed port.
    /// </summary>
    public void BringUp()
    {
        lock (_gate)
        {
            if (!IsDown)
            {
                return;
            }

            _native.BrokerSetUp(EnsureRunning(), AllBrokers);
            IsDown = false;
            var silent = _listeners.Where(listener => !Accepts(listener)).ToList();
            if (silent.Count > 0)
            {
                throw new InvalidOperationException(
                    $"The local Kafka broker was brought up but does not accept connections on {string.Join(", ", silent)}: " +
                    "most likely another program took its port while it was down (librdkafka says why on the process's standard error). Restart the AppHost.");
            }
        }
    }

    /// <summary>
    /// Makes the librdkafka producer <paramref name="producer"/> (its <c>rd_kafka_t</c> pointer)
    /// fail fatally, as if the broker had broken its idempotence, with librdkafka's own test hook
    /// (<c>rd_kafka_test_fatal_error</c>): to rehearse what a service does about a fatal error.
    /// </summary>
    public static void InjectFatalProducerError(nint producer, ErrorCode error, string reason)
    {
        var native = Native.Bind();
        var reasonText = Marshal.StringToCoTaskMemUTF8(reason);
        try
        {
            var result = native.TestFatalError(producer, (int)error, reasonText);
            if (result != 0)
            {
                throw new InvalidOperationException($"librdkafka refused to raise a fatal error: {(ErrorCode)result}.");
            }
        }
        finally
        {
            Marshal.FreeCoTaskMem(reasonText);
        }
    }

    /// <summary>Delays every response by <paramref name="roundTrip"/>, to imitate a distant broker.</summary>
    public void SetRoundTripTime(TimeSpan roundTrip)
    {
        lock (_gate)
        {
            _native.BrokerSetRtt(EnsureRunning(), AllBrokers, (int)roundTrip.TotalMilliseconds);
        }
    }

    /// <summary>
    /// Answers the next <paramref name="errors"/>.Length requests of Kafka API <paramref name="apiKey"/>
    /// (to any broker) with those errors, in order, with librdkafka's own test hook
    /// (<c>rd_kafka_mock_push_request_errors_array</c>): to rehearse what a client does about them,
    /// such as a group coordinator that no longer knows a member (Heartbeat, key 12, UnknownMemberId).
    /// </summary>
    public void FailNextRequests(short apiKey, params ErrorCode[] errors)
    {
        ArgumentOutOfRangeException.ThrowIfZero(errors.Length);
        var codes = errors.Select(error => (int)error).ToArray();
        lock (_gate)
        {
            fixed (int* first = codes)
            {
                _native.PushRequestErrors(EnsureRunning(), apiKey, (nuint)codes.Length, first);
            }
        }
    }

    /// <summary>Stops the brokers; every record they held is gone.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != 0)
            {
                _native.ClusterDestroy(_cluster);
                _cluster = 0;
            }

            if (_client != 0)
            {
                _native.Destroy(_client);
                _client = 0;
            }
        }
    }

    private static IPEndPoint ParseListener(string hostPort)
    {
        var separator = hostPort.LastIndexOf(':');
        return new IPEndPoint(IPAddress.Parse(hostPort[..separator]), int.Parse(hostPort[(separator + 1)..], CultureInfo.InvariantCulture));
    }

    private static bool Accepts(IPEndPoint listener)
    {
        using var probe = new Socket(listener.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(listener);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private nint EnsureRunning() =>
        _cluster != 0 ? _cluster : throw new ObjectDisposedException(nameof(LocalKafkaBroker));

    private static void SetConf(Native native, nint conf, string name, string value)
    {
        var errorText = stackalloc byte[512];
        var result = WithUtf8(name, n => WithUtf8(value, v => native.ConfSet(conf, n, v, errorText, 512)));
        if (result != 0)
        {
            throw new InvalidOperationException($"librdkafka refused {name}: " + Marshal.PtrToStringUTF8((nint)errorText));
        }
    }

    private static T WithUtf8<T>(string text, Func<nint, T> use)
    {
        var utf8 = Marshal.StringToCoTaskMemUTF8(text);
        try
        {
            return use(utf8);
        }
        finally
        {
            Marshal.FreeCoTaskMem(utf8);
        }
    }

    /// <summary>
    /// The C functions, bound to the exact librdkafka file Confluent.Kafka mapped. On Debian the
    /// package's default build cannot load (no libsasl2.so.3) and Confluent.Kafka falls back to
    /// another build; binding by name could reach a second, different copy of the library.
    /// </summary>
    private sealed class Native
    {
        public required delegate* unmanaged<nint> ConfNew;
        public required delegate* unmanaged<nint, nint, nint, byte*, nuint, int> ConfSet;
        public required delegate* unmanaged<int, nint, byte*, nuint, nint> New;
        public required delegate* unmanaged<nint, void> Destroy;
        public required delegate* unmanaged<nint, int, nint> ClusterNew;
        public required delegate* unmanaged<nint, void> ClusterDestroy;
        public required delegate* unmanaged<nint, nint> ClusterBootstraps;
        public required delegate* unmanaged<nint, nint, int, int, int> TopicCreate;
        public required delegate* unmanaged<nint, int, int> BrokerSetDown;
        public required delegate* unmanaged<nint, int, int> BrokerSetUp;
        public required delegate* unmanaged<nint, int, int, int> BrokerSetRtt;
        public required delegate* unmanaged<nint, int, void> GroupInitialRebalanceDelayMs;
        public required delegate* unmanaged<nint, int, nint, int> TestFatalError;
        public required delegate* unmanaged<nint, short, nuint, int*, void> PushRequestErrors;

        private static Native? _bound;

        public static Native Bind()
        {
            if (_bound is not null)
            {
                return _bound;
            }

            var library = NativeLibrary.Load(FindLoadedLibrdkafka());
            nint Export(string name) => NativeLibrary.GetExport(library, name);
            _bound = new Native
            {
                ConfNew = (delegate* unmanaged<nint>)Export("rd_kafka_conf_new"),
                ConfSet = (delegate* unmanaged<nint, nint, nint, byte*, nuint, int>)Export("rd_kafka_conf_set"),
                New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)Export("rd_kafka_new"),
                Destroy = (delegate* unmanaged<nint, void>)Export("rd_kafka_destroy"),
                ClusterNew = (delegate* unmanaged<nint, int, nint>)Export("rd_kafka_mock_cluster_new"),
                ClusterDestroy = (delegate* unmanaged<nint, void>)Export("rd_kafka_mock_cluster_destroy"),
                ClusterBootstraps = (delegate* unmanaged<nint, nint>)Export("rd_kafka_mock_cluster_bootstraps"),
                TopicCreate = (delegate* unmanaged<nint, nint, int, int, int>)Export("rd_kafka_mock_topic_create"),
                BrokerSetDown = (delegate* unmanaged<nint, int, int>)Export("rd_kafka_mock_broker_set_down"),
                BrokerSetUp = (delegate* unmanaged<nint, int, int>)Export("rd_kafka_mock_broker_set_up"),
                BrokerSetRtt = (delegate* unmanaged<nint, int, int, int>)Export("rd_kafka_mock_broker_set_rtt"),
                GroupInitialRebalanceDelayMs = (delegate* unmanaged<nint, int, void>)Export("rd_kafka_mock_group_initial_rebalance_delay_ms"),
                TestFatalError = (delegate* unmanaged<nint, int, nint, int>)Export("rd_kafka_test_fatal_error"),
                PushRequestErrors = (delegate* unmanaged<nint, short, nuint, int*, void>)Export("rd_kafka_mock_push_request_errors_array"),
            };
            return _bound;
        }

        private static string FindLoadedLibrdkafka()
        {
            // Makes Confluent.Kafka load its native library, choosing the build that works here.
            _ = Library.Version;
            var mapped = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 6)
                .Select(fields => string.Join(' ', fields.Skip(5)))
                .FirstOrDefault(path => Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal));
            return mapped ?? throw new InvalidOperationException(
                "Confluent.Kafka loaded no librdkafka that this process can see in /proc/self/maps; the local broker needs Linux.");
        }
    }
}
