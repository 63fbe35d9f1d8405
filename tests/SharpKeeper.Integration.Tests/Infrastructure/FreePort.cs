using System.Net;
using System.Net.Sockets;

namespace SharpKeeper.Integration.Tests.Infrastructure;

public static class FreePort
{
    /// <summary>A port the OS says is free on 127.0.0.1 right now (for processes that cannot bind port 0 and report it).</summary>
    public static int Pick()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
