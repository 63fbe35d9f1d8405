using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Quorum.Sync;

/// <summary>
/// What a sync state machine (<see cref="LearnerSync"/>, <see cref="LeaderSync"/>) asks its driver
/// to do, in order: the machines decide, drivers (sockets and files in production, a simulated
/// network and disk in tests) carry out. An effect list is only valid until the next call.
/// </summary>
public abstract record SyncEffect;

/// <summary>Send a packet to the peer (a learner: to its leader).</summary>
public sealed record SendPacket(QuorumPacket Packet) : SyncEffect;

/// <summary>Write the acceptedEpoch or currentEpoch file (<see cref="EpochFiles"/>), durably, before the effects after it.</summary>
public sealed record PersistEpoch(string File, long Epoch) : SyncEffect;

/// <summary>Append a txn the leader sent to the local log; it is applied when committed.</summary>
public sealed record LogTxn(TxnHeader Header, Txn Txn, byte[] Body) : SyncEffect;

/// <summary>Apply every logged txn through the zxid.</summary>
public sealed record CommitThrough(long Zxid) : SyncEffect;

/// <summary>
/// SNAP: the leader's snapshot follows on the connection. The driver reads it, makes it durable,
/// replaces the tree and calls <see cref="LearnerSync.SnapshotInstalled"/>.
/// </summary>
public sealed record ReceiveSnapshot(long Zxid) : SyncEffect;

/// <summary>
/// TRUNC: the driver lets every log write already issued land, cuts the log after the zxid,
/// reloads the tree from disk and calls <see cref="LearnerSync.Truncated"/>.
/// </summary>
public sealed record TruncateLog(long Zxid) : SyncEffect;

/// <summary>UPTODATE: serve clients in the epoch; the first zxid of the epoch counts as processed.</summary>
public sealed record StartFollowing(long Epoch, long EpochStartZxid) : SyncEffect;

/// <summary>A leader's PING: answer it with the sessions active here.</summary>
public sealed record AnswerPing(QuorumPacket Ping) : SyncEffect;

/// <summary>The leader's answer to a session's revalidation.</summary>
public sealed record SessionRevalidated(long SessionId, bool Valid) : SyncEffect;

/// <summary>The leader answered this learner's oldest forwarded sync().</summary>
public sealed record SyncAnswered : SyncEffect
{
    public static readonly SyncAnswered Instance = new();
}

/// <summary>The role cannot go on: the driver closes the connection and the server looks for a leader again.</summary>
public sealed record AbandonRole(string Reason) : SyncEffect;

/// <summary>Something worth an operator's attention that does not end the role.</summary>
public sealed record Warn(string Text) : SyncEffect;

/// <summary>Leader side: send a packet to one learner.</summary>
public sealed record SendToLearner(PeerLink Learner, QuorumPacket Packet) : SyncEffect;

/// <summary>Leader side: a quorum acknowledged the epoch; broadcast state for it can be built.</summary>
public sealed record BeginEpoch(long Epoch) : SyncEffect;

/// <summary>Leader side: bring the learner up to date from its last zxid (DIFF, TRUNC or SNAP, then NEWLEADER).</summary>
public sealed record SynchronizeLearner(PeerLink Learner, long PeerLastZxid) : SyncEffect;

/// <summary>Leader side: a quorum acknowledged NEWLEADER; serve clients from the epoch's first zxid.</summary>
public sealed record StartLeading(long Epoch) : SyncEffect;

/// <summary>Leader side: end one learner's connection; the leadership goes on.</summary>
public sealed record DropLearner(PeerLink Learner, string Reason) : SyncEffect;
