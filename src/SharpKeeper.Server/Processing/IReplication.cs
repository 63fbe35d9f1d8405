namespace SharpKeeper.Server.Processing;

/// <summary>
/// How the core's txns reach agreement: alone (standalone), by a quorum of acks (leader), or as
/// the leader decides (follower). Called on the core thread only; it calls back
/// <see cref="ServerCore.Commit"/> when txns are committed.
/// </summary>
public interface IReplication
{
    /// <summary>True on a follower: client writes go to the leader instead of being prepared here.</summary>
    bool ForwardsWrites { get; }

    /// <summary>True where sessions expire (standalone and leader); followers report activity instead.</summary>
    bool ExpiresSessions { get; }

    /// <summary>True on a leader: each txn prepared here is serialized once, for the log and for the proposal.</summary>
    bool ReplicatesTxns { get; }

    /// <summary>A txn prepared here was appended to the local log (a leader proposes it); <paramref name="body"/> is its record body.</summary>
    void Proposed(long zxid, byte[] body);

    /// <summary>The local log is durable through <paramref name="zxid"/>.</summary>
    void LocallyDurable(long zxid);

    /// <summary>Sends a client request to the leader (followers only).</summary>
    void Forward(ClientRequest request, long sessionId);

    /// <summary>Asks the leader whether a session that reconnects here is still alive (followers only).</summary>
    void Revalidate(long sessionId, int timeout);

    void OnTick(long now);
}

/// <summary>A standalone server: a txn is committed as soon as it is durable in the local log.</summary>
public sealed class StandaloneReplication(ServerCore core) : IReplication
{
    public bool ForwardsWrites => false;

    public bool ExpiresSessions => true;

    public bool ReplicatesTxns => false;

    public void Proposed(long zxid, byte[] body)
    {
    }

    public void LocallyDurable(long zxid) => core.Commit(zxid);

    public void Forward(ClientRequest request, long sessionId) => throw new InvalidOperationException("a standalone server forwards nothing");

    public void Revalidate(long sessionId, int timeout) => throw new InvalidOperationException("a standalone server revalidates nothing");

    public void OnTick(long now)
    {
    }
}
