using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Quorum;

/// <summary>A packet from the leader, handled by the learner's state machine; a txn it carries was decoded where it was read.</summary>
public sealed record LeaderPacketReceived(FollowerReplication Follower, QuorumPacket Packet, DecodedTxn? Txn) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Follower.Receive(Packet, Txn);
}

/// <summary>A packet from a synced learner (ACK, PING, REVALIDATE, REQUEST) to the leader.</summary>
public sealed record LearnerPacketReceived(LeaderReplication Leader, PeerLink Learner, QuorumPacket Packet) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.OnLearnerPacket(Learner, Packet);
}

/// <summary>Time passes for a leader's handshakes (initLimit for each step and each learner).</summary>
public sealed record LeaderTicked(LeaderRole Leader) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.Tick();
}

/// <summary>The leader's own log became durable through what it held when it was elected.</summary>
public sealed record LeaderLogDurable(LeaderRole Leader, long Zxid) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.Durable(Zxid);
}

/// <summary>A learner's connection to the leader ended, during its handshake or after.</summary>
public sealed record LearnerDisconnected(LeaderRole Leader, PeerLink Learner) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.LearnerLeft(Learner);
}
