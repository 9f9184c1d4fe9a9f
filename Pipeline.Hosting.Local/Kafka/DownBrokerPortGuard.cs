using System.Net;
using System.Net.Sockets;

namespace Pipeline.Hosting.Local.Kafka;

/// <summary>
/// Holds the port of a broker that is taken down, so that the broker comes back on it.
/// librdkafka's mock broker, once set down, keeps its port with a socket that is bound but does
/// not listen (rd_kafka_mock_broker_cmd, RD_KAFKA_MOCK_CMD_BROKER_SET_UPDOWN). SO_REUSEADDR lets
/// any other socket bind a port that nobody listens on, and Go's net.Listen and many port probes
/// set it: a server started meanwhile on that port number takes it, the broker's listen() fails
/// when it is brought up (logged by librdkafka on stderr only; its assertion is compiled out), and
/// its clients reach the other server instead, for good. The guard listens on the port while the
/// broker is down and resets every connection it is offered, so that clients are still turned
/// away and nothing else can listen there.
/// </summary>
internal sealed class DownBrokerPortGuard : IDisposable
{
    // SO_REUSEADDR alone, as the mock's socket has it: .NET's ReuseAddress also sets SO_REUSEPORT
    // on Linux, which would let another SO_REUSEPORT listener share the port.
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _turningAway;

    private DownBrokerPortGuard(Socket listener)
    {
        _listener = listener;
        _turningAway = TurnAwayEveryConnectionAsync();
    }

    /// <summary>Listens on <paramref name="endpoint"/>, the port of a broker that was just set down.</summary>
    public static DownBrokerPortGuard Hold(IPEndPoint endpoint)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            listener.Bind(endpoint);
            listener.Listen();
            return new DownBrokerPortGuard(listener);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Stops listening and closes the port, for the broker to listen on it again.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _turningAway.GetAwaiter().GetResult();
        _listener.Dispose();
        _stop.Dispose();
    }

    private async Task TurnAwayEveryConnectionAsync()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            // Closed at once with a reset, as a refused connection is.
            connection.LingerState = new LingerOption(true, 0);
            connection.Dispose();
        }
    }
}
