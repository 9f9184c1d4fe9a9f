using System.Globalization;
using System.Net.Sockets;
using Pipeline.Hosting.Local;

namespace Pipeline.Tests.Hosting.Local;

public sealed class LoopbackPortsTests
{
    [Fact]
    public void AFreePortLiesBelowTheEphemeralRangeWhereNoOutgoingConnectionCanTakeItAndCanBeListenedOn()
    {
        var ephemeralStart = int.Parse(
            File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0],
            CultureInfo.InvariantCulture);

        var ports = Enumerable.Range(0, 20).Select(_ => LoopbackPorts.FindFree()).ToList();

        if (ephemeralStart >= 21_000)
        {
            Assert.All(ports, port => Assert.InRange(port, 20_000, ephemeralStart - 1));
        }

        using var listener = new TcpListener(IPAddress.Loopback, ports[0]);
        listener.Start();
    }
}
