namespace SharpKeeper.Server.Processing;

/// <summary>
/// How the core's txns reach agreement in the current role: alone (standalone), by a quorum of
/// acks (leader), or as the leader decides (follower). Called on the core thread only; it calls
/// back <see cref="ServerCore.Commit"/> when txns are committed. A role adds what it does besides
/// by implementing <see cref="ITxnProposer"/> (it proposes the txns prepared here) or
/// <see cref="IWriteForwarder"/> (writes are prepared by its leader); the core composes its
/// pipeline from what the role implements (<see cref="RolePipeline"/>).
/// </summary>
public interface IReplication
{
    /// <summary>The local log is durable through <paramref name="zxid"/>.</summary>
    void LocallyDurable(long zxid);

    void OnTick(long now);
}

/// <summary>A leader: each txn prepared and logged here is proposed to the learners.</summary>
public interface ITxnProposer
{
    /// <summary>A txn prepared here was appended to the local log; <paramref name="body"/> is its record body (serialized once for log, proposal and history).</summary>
    void Proposed(long zxid, byte[] body);
}

/// <summary>A leader's part in reconfig: the checks that need the quorum, in Apache's order.</summary>
public interface IMembershipChanger
{
    /// <summary>
    /// The membership text a reconfig at <paramref name="zxid"/> would commit (ReconfigInProgress,
    /// BadVersion, BadArguments and NewConfigNoQuorum are thrown as <see cref="Protocol.KeeperException"/>).
    /// </summary>
    string PlanReconfig(Protocol.Records.ReconfigRequest request, long zxid);
}

/// <summary>A learner: client writes and session checks go to the leader, which prepares every txn.</summary>
public interface IWriteForwarder
{
    /// <summary>Sends a client request to the leader.</summary>
    void Forward(ClientRequest request, long sessionId);

    /// <summary>Asks the leader whether a session that reconnects here is still alive.</summary>
    void Revalidate(long sessionId, int timeout);
}

/// <summary>
/// The request pipeline of a role, composed from what its replication implements, as Apache's
/// setupRequestProcessors chains processors per role: a standalone server prepares, logs and
/// commits; a leader also proposes; a learner forwards writes and prepares nothing. Only where
/// txns are prepared are sessions owned, so only there does housekeeping run (expiry, sweeps).
/// </summary>
public sealed record RolePipeline(IReplication Replication, ITxnProposer? Proposer, IWriteForwarder? Forwarder)
{
    public static RolePipeline Of(IReplication replication) =>
        new(replication, replication as ITxnProposer, replication as IWriteForwarder);

    /// <summary>Where reconfig can be decided: a leader (a standalone server answers Unimplemented).</summary>
    public IMembershipChanger? MembershipChanger => Replication as IMembershipChanger;

    /// <summary>True where txns are prepared (standalone, leader): sessions expire and containers are swept here.</summary>
    public bool OwnsSessions => Forwarder is null;
}

/// <summary>A standalone server: a txn is committed as soon as it is durable in the local log.</summary>
public sealed class StandaloneReplication(ServerCore core) : IReplication
{
    public void LocallyDurable(long zxid) => core.Commit(zxid);

    public void OnTick(long now)
    {
    }
}
