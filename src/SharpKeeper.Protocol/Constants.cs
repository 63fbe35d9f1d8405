namespace SharpKeeper.Protocol;

/// <summary>ACL permission bits.</summary>
[Flags]
public enum Perms
{
    None = 0,
    Read = 1,
    Write = 2,
    Create = 4,
    Delete = 8,
    Admin = 16,
    All = Read | Write | Create | Delete | Admin,
}

/// <summary>The flags field of a create request.</summary>
public enum CreateMode
{
    Persistent = 0,
    Ephemeral = 1,
    PersistentSequential = 2,
    EphemeralSequential = 3,
    Container = 4,
    PersistentWithTtl = 5,
    PersistentSequentialWithTtl = 6,
}

public static class CreateModeExtensions
{
    public static bool IsKnown(int flags) => flags is >= 0 and <= 6;
    public static bool IsEphemeral(this CreateMode mode) => mode is CreateMode.Ephemeral or CreateMode.EphemeralSequential;
    public static bool IsSequential(this CreateMode mode) =>
        mode is CreateMode.PersistentSequential or CreateMode.EphemeralSequential or CreateMode.PersistentSequentialWithTtl;
    public static bool IsContainer(this CreateMode mode) => mode == CreateMode.Container;
    public static bool IsTtl(this CreateMode mode) => mode is CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl;
}

/// <summary>Watch event types sent in WatcherEvent.type.</summary>
public enum EventType
{
    None = -1,
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
    DataWatchRemoved = 5,
    ChildWatchRemoved = 6,
    PersistentWatchRemoved = 7,
}

/// <summary>Client connection states sent in WatcherEvent.state.</summary>
public enum KeeperState
{
    Disconnected = 0,
    SyncConnected = 3,
    AuthFailed = 4,
    ConnectedReadOnly = 5,
    SaslAuthenticated = 6,
    Expired = -112,
    Closed = 7,
}

/// <summary>The type field of checkWatches / removeWatches.</summary>
public enum WatcherType
{
    Children = 1,
    Data = 2,
    Any = 3,
}

/// <summary>The mode field of addWatch.</summary>
public enum AddWatchMode
{
    Persistent = 0,
    PersistentRecursive = 1,
}

/// <summary>Reserved xids used by the client protocol for non-request traffic.</summary>
public static class Xids
{
    public const int Notification = -1;
    public const int Ping = -2;
    public const int Auth = -4;
    public const int SetWatches = -8;
}

/// <summary>Ephemeral owner values that mark container and TTL nodes (as Apache ZooKeeper encodes them).</summary>
public static class EphemeralType
{
    /// <summary>ephemeralOwner of a container node.</summary>
    public const long ContainerOwner = unchecked((long)0x8000000000000000UL);

    /// <summary>High byte that marks an extended type; the next two bytes (zero) say TTL; the low 40 bits carry the TTL in ms.</summary>
    public const long TtlMask = unchecked((long)0xFF00000000000000UL);

    private const long ReservedBits = 0x00FFFF0000000000L;

    public const long MaxTtl = 0x000000FFFFFFFFFFL;

    public static bool IsContainer(long owner) => owner == ContainerOwner;

    public static bool IsTtl(long owner) => (owner & TtlMask) == TtlMask && (owner & ReservedBits) == 0;

    public static long TtlOf(long owner) => IsTtl(owner) ? owner & MaxTtl : 0;

    public static long ForTtl(long ttl) => TtlMask | ttl;
}
