using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pipeline.Hosting.Local;

/// <summary>Ports on 127.0.0.1 for servers that are told their port before they listen on it.</summary>
public static class LoopbackPorts
{
    // Above the ports well-known services register, below Linux's default ephemeral range (32768).
    private const int FixedPortFloor = 20_000;

    /// <summary>
    /// A TCP port on 127.0.0.1 that nothing uses right now, below the kernel's ephemeral range
    /// when there is room: a port in that range can be handed to any outgoing connection as
    /// its source port while the server is not listening (before it starts, or while it is
    /// taken down), and the server could then not listen there again.
    /// </summary>
    public static int FindFree()
    {
        var below = EphemeralPortRangeStart();
        for (var attempt = 0; below - FixedPortFloor >= 1000 && attempt < 100; attempt++)
        {
            var candidate = Random.Shared.Next(FixedPortFloor, below);
            if (IsFree(candidate))
            {
                return candidate;
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int EphemeralPortRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }

    // Bound without SO_REUSEADDR, so that any socket on the port, even one only bound or closing, makes it unfree.
    private static bool IsFree(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            probe.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
