using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>NEWLEADER acknowledged: from now on the follower acknowledges each proposal once it is durable.</summary>
public sealed record AcksEnabled(FollowerReplication Follower) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Follower.EnableAcks();
}

/// <summary>A PROPOSAL from the leader: logged now, applied when its COMMIT comes, acknowledged once durable.</summary>
public sealed record ProposalReceived(FollowerReplication Follower, TxnHeader Header, Txn Txn, byte[] Data) : ReplicationEvent
{
    public override void Apply(ServerCore core)
    {
        core.AcceptProposal(Header, Txn, Data);
        Follower.Logged(Header.Zxid);
    }
}

/// <summary>An INFORM (to an observer): a txn the quorum already committed, logged and applied at once.</summary>
public sealed record InformReceived(TxnHeader Header, Txn Txn, byte[] Data) : ReplicationEvent
{
    public override void Apply(ServerCore core)
    {
        core.AcceptProposal(Header, Txn, Data);
        core.Commit(Header.Zxid);
    }
}

/// <summary>A COMMIT from the leader: every logged txn through the zxid is applied.</summary>
public sealed record CommitReceived(long Zxid) : ReplicationEvent
{
    public override void Apply(ServerCore core) => core.Commit(Zxid);
}

/// <summary>A PING from the leader: answered with this follower's sessions.</summary>
public sealed record LeaderPinged(FollowerReplication Follower, QuorumPacket Ping) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Follower.OnPing(Ping);
}

/// <summary>The leader's answer to a session's revalidation (a client that reconnected here).</summary>
public sealed record SessionRevalidated(long SessionId, bool Valid) : ReplicationEvent
{
    public override void Apply(ServerCore core) => core.OnRevalidated(SessionId, Valid);
}

/// <summary>The leader answered this follower's oldest forwarded sync.</summary>
public sealed record SyncAnswered : ReplicationEvent
{
    public static readonly SyncAnswered Instance = new();

    public override void Apply(ServerCore core) => core.OnSyncReply();
}

/// <summary>A packet from a synced learner (ACK, PING, REVALIDATE, REQUEST) to the leader.</summary>
public sealed record LearnerPacketReceived(LeaderReplication Leader, PeerLink Learner, QuorumPacket Packet) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.OnLearnerPacket(Learner, Packet);
}

/// <summary>A learner's connection ended: it no longer counts towards commits.</summary>
public sealed record LearnerLeft(LeaderReplication Leader, PeerLink Learner) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.RemoveLearner(Learner);
}
