using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>A watch or connection-state event as the application sees it (the path is relative to the chroot).</summary>
public readonly record struct WatchedEvent(EventType Type, KeeperState State, string? Path);

/// <summary>
/// A watcher. It is called on the client's single event loop, in the order ZooKeeper guarantees; it must
/// not block waiting for another reply of the same client (await instead), or the event loop stalls.
/// The same watcher (by delegate equality) registered twice for one path and kind fires once.
/// </summary>
public delegate void Watcher(WatchedEvent e);

/// <summary>
/// The raw outcome of a request: the error code and zxid of the reply header, and the decoded body when
/// the error code is Ok (a multi that failed still carries its per-operation results with Err = Ok).
/// </summary>
public readonly record struct ZkResult(ErrorCode Err, long Zxid, Response? Body)
{
    public bool IsOk => Err == ErrorCode.Ok;

    /// <summary>The body as <typeparamref name="T"/>; throws <see cref="KeeperException"/> when the reply was an error.</summary>
    public T BodyAs<T>()
        where T : Response
    {
        if (Err != ErrorCode.Ok)
        {
            throw new KeeperException(Err);
        }

        return Body as T ?? throw new InvalidOperationException($"reply body is {Body?.GetType().Name ?? "missing"}, not {typeof(T).Name}");
    }

    /// <summary>Throws <see cref="KeeperException"/> unless Ok.</summary>
    public ZkResult ThrowIfError(string? path = null) => Err == ErrorCode.Ok ? this : throw new KeeperException(Err, path);
}
