using System.Net.Sockets;
using System.Text;

namespace SharpKeeper.Cli;

/// <summary>
/// systemd's notify protocol (sd_notify), for a unit with Type=notify: one datagram per state
/// ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=...") to the socket in $NOTIFY_SOCKET ('@'
/// starts an abstract-namespace name). Without $NOTIFY_SOCKET (not run by systemd) it is not made.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endPoint;

    private SystemdNotifier(string path)
    {
        _endPoint = new UnixDomainSocketEndPoint(path.StartsWith('@') ? "\0" + path[1..] : path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public static SystemdNotifier? FromEnvironment() =>
        Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 } path ? new SystemdNotifier(path) : null;

    /// <summary>The watchdog interval systemd asks for ($WATCHDOG_USEC, for this process when $WATCHDOG_PID says so); null when there is none.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out var microseconds) || microseconds <= 0)
        {
            return null;
        }

        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        return pid is { Length: > 0 } && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)
            ? null
            : TimeSpan.FromMicroseconds(microseconds);
    }

    /// <summary>Sends one state; a systemd that went away is not an error worth stopping for.</summary>
    public void Notify(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _endPoint);
        }
        catch (SocketException)
        {
        }
    }

    public void Dispose() => _socket.Dispose();
}
