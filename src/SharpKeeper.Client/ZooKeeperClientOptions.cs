namespace SharpKeeper.Client;

/// <summary>How a <see cref="ZooKeeperClient"/> connects and behaves.</summary>
public sealed record ZooKeeperClientOptions
{
    /// <summary>
    /// "host:port[,host:port...][/chroot]". A missing port means 2181; IPv6 hosts are written in brackets.
    /// A suffix starting with '/' is the chroot (see <see cref="Chroot"/>).
    /// </summary>
    public required string ConnectString { get; init; }

    /// <summary>The session timeout the client asks for; the server answers with the negotiated one.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Resume this session (with <see cref="SessionPassword"/>) instead of creating a new one.</summary>
    public long SessionId { get; init; }

    /// <summary>The password of the session to resume; 16 zero bytes when null.</summary>
    public byte[]? SessionPassword { get; init; }

    /// <summary>Accept a read-only server (a minority partition); sets the readOnly flag of the ConnectRequest.</summary>
    public bool CanBeReadOnly { get; init; }

    /// <summary>Raw override of the readOnly field of the ConnectRequest (defaults to <see cref="CanBeReadOnly"/>).</summary>
    public bool? ReadOnly { get; init; }

    /// <summary>Leave the readOnly byte out of the ConnectRequest entirely, as clients older than 3.4 do.</summary>
    public bool OmitReadOnlyFlag { get; init; }

    /// <summary>The lastZxidSeen sent with the first ConnectRequest (tests); later ones carry the last zxid seen.</summary>
    public long? LastZxidSeen { get; init; }

    /// <summary>
    /// Receives every connection-state event, and the node events of watches set with the "watch: true"
    /// overloads or with raw requests. Called on the client's event loop.
    /// </summary>
    public Action<WatchedEvent>? DefaultWatcher { get; init; }

    /// <summary>Reconnect to the same session after a lost connection. When false a lost connection is final.</summary>
    public bool Reconnect { get; init; } = true;

    /// <summary>Root every path under this node (overrides a chroot suffix of the connect string).</summary>
    public string? Chroot { get; init; }

    /// <summary>Time allowed for one TCP connect plus handshake; default: the session timeout divided by the host count.</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>
    /// Before each reconnect attempt the client waits a random time up to this (avoids reconnect storms when a
    /// server dies under many clients); after every full pass over the host list it waits this long again.
    /// </summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Try the hosts in a random order (as ZooKeeper's client does), so sessions spread over the ensemble.</summary>
    public bool ShuffleHosts { get; init; } = true;

    /// <summary>
    /// TLS (a server's secureClientPort): the client certificate, how the server's certificate is
    /// checked, protocols. TargetHost defaults to each host of the connect string. Null: plain TCP.
    /// </summary>
    public System.Net.Security.SslClientAuthenticationOptions? Tls { get; init; }

    /// <summary>A reply frame longer than this closes the connection (a corrupt length prefix must not allocate gigabytes).</summary>
    public int MaxFrameSize { get; init; } = 16 * 1024 * 1024;
}
