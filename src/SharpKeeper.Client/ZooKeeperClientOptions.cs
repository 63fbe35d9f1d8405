using SharpKeeper.Protocol;

namespace SharpKeeper.Client;

/// <summary>How a <see cref="ZooKeeperClient"/> connects.</summary>
public sealed record ZooKeeperClientOptions
{
    /// <summary>"host:port[,host:port...]"; hosts are tried in order, wrapping around.</summary>
    public required string ConnectString { get; init; }

    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Resume this session (with <see cref="SessionPassword"/>) instead of creating one.</summary>
    public long SessionId { get; init; }

    public byte[]? SessionPassword { get; init; }

    /// <summary>Receives connection state events and watch events without a specific watcher.</summary>
    public Action<WatchedEvent>? DefaultWatcher { get; init; }

    /// <summary>Reconnect (same session) after a lost connection; off for tests that want raw behaviour.</summary>
    public bool Reconnect { get; init; } = true;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames larger than this close the connection (a corrupt length prefix must not allocate gigabytes).</summary>
    public int MaxFrameSize { get; init; } = 16 * 1024 * 1024;
}

/// <summary>A watch or connection-state event as the application sees it.</summary>
public readonly record struct WatchedEvent(EventType Type, KeeperState State, string? Path);

/// <summary>The raw outcome of a request: error code, the zxid of the reply header, and the body when Ok.</summary>
public readonly record struct ZkResult(ErrorCode Err, long Zxid, Protocol.Records.Response? Body)
{
    public T BodyAs<T>()
        where T : Protocol.Records.Response =>
        Err == ErrorCode.Ok ? (T)Body! : throw new KeeperException(Err);
}
