using System.Net;
using System.Net.Sockets;

namespace SharpKeeper.Integration.Tests.Infrastructure;

public static class FreePort
{
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> HandedOut = [];
    private static readonly (int First, int Last) Range = PortsOutsideEphemeralRange();
    private static int s_next = Range.First + Random.Shared.Next(Range.Last - Range.First + 1);

    /// <summary>
    /// A port nothing listens on right now, for processes that cannot bind port 0 and report it. It is
    /// taken outside the kernel's ephemeral range: a port from there (what binding port 0 gives) can be
    /// taken, before the server binds it, as the local end of some other process's outgoing connection.
    /// No port is handed out twice in one test run.
    /// </summary>
    public static int Pick()
    {
        lock (Gate)
        {
            var span = Range.Last - Range.First + 1;
            for (var attempt = 0; attempt < span; attempt++)
            {
                var port = s_next;
                s_next = s_next == Range.Last ? Range.First : s_next + 1;
                if (!HandedOut.Contains(port) && IsFree(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }

            throw new InvalidOperationException($"no free port in {Range.First}-{Range.Last}");
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Linux's ephemeral range is 32768-60999 by default; ports below it are used (or above it, if it starts low; or, if it spans nearly everything, its own).</summary>
    private static (int First, int Last) PortsOutsideEphemeralRange()
    {
        var (low, high) = (32768, 60999);
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
            (low, high) = (int.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }

        if (low - 1 >= 20000)
        {
            return (20000, low - 1);
        }

        return high <= 64535 ? (high + 1, 65535) : (low, high);
    }
}
