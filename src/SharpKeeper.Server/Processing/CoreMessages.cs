using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Processing;

/// <summary>Everything that reaches the core does so as one of these messages, handled one at a time.</summary>
public abstract record CoreMessage;

public sealed record ConnectMessage(IClientConnection Connection, ConnectRequest Request) : CoreMessage;

public sealed record RequestMessage(ClientRequest Request) : CoreMessage;

public sealed record ConnectionClosedMessage(IClientConnection Connection) : CoreMessage;

public sealed record TickMessage : CoreMessage
{
    public static readonly TickMessage Instance = new();
}

public sealed record LogSyncedMessage(long Zxid) : CoreMessage;

/// <summary>The log could not be written (see <see cref="ServerCore.OnLogFailed"/>).</summary>
public sealed record LogFailedMessage : CoreMessage
{
    public static readonly LogFailedMessage Instance = new();
}

/// <summary>A client sent a request type no ZooKeeper knows: it is answered Unimplemented and its connection closed.</summary>
public sealed record UnknownRequestMessage(IClientConnection Connection, int Xid) : CoreMessage;

/// <summary>
/// An ensemble member's quorum configuration, as Apache's initConfigInZKDatabase puts it in
/// /zookeeper/config: the membership text (server lines and version=hex), at mzxid = the config's version.
/// </summary>
public sealed record QuorumConfigMessage(string Text, long Version) : CoreMessage;

/// <summary>A snapshot is wanted now (after a replay at start-up), as when snapCount txns were applied.</summary>
public sealed record SnapshotRequestedMessage : CoreMessage
{
    public static readonly SnapshotRequestedMessage Instance = new();
}

/// <summary>
/// An event of the replication protocol (a packet from the leader or a learner, a learner leaving),
/// named and typed rather than posted as a closure, applied on the core thread to the replication
/// state it arrived for.
/// </summary>
public abstract record ReplicationEvent : CoreMessage
{
    public abstract void Apply(ServerCore core);
}

/// <summary>Runs a function on the core thread (admin commands read a consistent view this way).</summary>
public sealed record InvokeMessage(Action Action) : CoreMessage;

/// <summary>Asks for another batch so a snapshot in progress serializes its next slice.</summary>
public sealed record SnapshotSliceMessage : CoreMessage
{
    public static readonly SnapshotSliceMessage Instance = new();
}
