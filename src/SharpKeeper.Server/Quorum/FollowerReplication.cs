using System.Buffers.Binary;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Reconfig;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// What a learner's effects need from where it runs (sockets and files, or a simulation): the
/// epoch files, the two sync steps that read the connection or cut the disk, and the end of the role.
/// Called on the core thread.
/// </summary>
public interface ILearnerHost
{
    void PersistEpoch(string file, long epoch);

    /// <summary>SNAP: the snapshot follows on the connection; the host installs it, then calls <see cref="FollowerReplication.SnapshotInstalled"/>.</summary>
    void ReceiveSnapshot(long zxid);

    /// <summary>TRUNC: the host cuts the log after the zxid, then calls <see cref="FollowerReplication.Truncated"/>.</summary>
    void TruncateLog(long zxid);

    void StartedFollowing(long epoch);

    void Abandon(string reason);

    /// <summary>A committed reconfig changed this server's role or leader: the role ends, to follow <paramref name="designatedLeader"/> or to an election.</summary>
    void Reconfigured(string reason, long? designatedLeader);

    void Warn(string text);
}

/// <summary>
/// A learner on the core thread: it feeds the leader's packets, the log's durability and ticks to
/// its <see cref="LearnerSync"/> and carries out the effects (send, log, commit, serve), handing
/// the rest to its <see cref="ILearnerHost"/>. As the core's replication it forwards client writes
/// to the leader and answers PINGs with the sessions active here.
/// </summary>
public sealed class FollowerReplication(ServerCore core, PeerLink leader, LearnerSync sync, ILearnerHost host, LearnerMembership? membership = null) : IReplication, IWriteForwarder
{
    private readonly JuteWriter _scratch = new(1024);

    public PeerLink Leader => leader;

    public LearnerSync Sync => sync;

    /// <summary>The observers this follower serves (observerMasterPort), while it does.</summary>
    public ObserverRelay? Relay { get; set; }

    public void Start() => Execute(sync.Start(core.Clock.MonotonicMillis));

    /// <summary>
    /// A packet from the leader (its txn decoded off the core thread). COMMITANDACTIVATE and
    /// INFORMANDACTIVATE are a COMMIT and an INFORM to the sync; with reconfigEnabled they, a
    /// reconfig's PROPOSAL, NEWLEADER and UPTODATE also change the membership.
    /// </summary>
    public void Receive(QuorumPacket packet, DecodedTxn? txn)
    {
        var now = core.Clock.MonotonicMillis;
        switch (packet.Type)
        {
            case PacketType.CommitAndActivate:
                Relay?.Activating(packet.Zxid, DesignatedLeader(packet));
                Execute(sync.Receive(new QuorumPacket(PacketType.Commit, packet.Zxid), null, now));
                Leave(membership?.CommitAndActivate(packet.Zxid, DesignatedLeader(packet)));
                return;
            case PacketType.InformAndActivate:
                Execute(sync.Receive(new QuorumPacket(PacketType.Inform, packet.Zxid, txn?.Body), txn, now));
                Leave(txn is null ? null : membership?.InformAndActivate(txn, DesignatedLeader(packet)));
                return;
            case PacketType.Proposal when txn is not null:
                membership?.Proposed(txn);
                break;
            case PacketType.NewLeader:
                membership?.NewLeader(packet.Data);
                break;
            case PacketType.Revalidate when Relay?.TryAnswerRevalidation(packet) == true:
                return;
        }

        Execute(sync.Receive(packet, txn, now));
        if (packet.Type == PacketType.UpToDate && sync.Phase == LearnerPhase.Serving)
        {
            Leave(membership?.UpToDate());
        }
    }

    private static long DesignatedLeader(QuorumPacket packet) =>
        packet.Data is { Length: >= 8 } data ? BinaryPrimitives.ReadInt64BigEndian(data) : throw new InvalidDataException($"{packet} names no designated leader");

    private void Leave(MembershipChange? change)
    {
        if (change is not null)
        {
            host.Reconfigured(change.Reason, change.DesignatedLeader);
        }
    }

    public void SnapshotInstalled(long zxid) => Execute(sync.SnapshotInstalled(zxid, core.Clock.MonotonicMillis));

    public void Truncated(long lastZxid) => Execute(sync.Truncated(lastZxid, core.Clock.MonotonicMillis));

    public void LocallyDurable(long zxid) => Execute(sync.Durable(zxid, core.Clock.MonotonicMillis));

    public void OnTick(long now)
    {
        Execute(sync.Tick(now));
        Relay?.OnTick(now);
    }

    private void Execute(IReadOnlyList<SyncEffect> effects)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case SendPacket send:
                    leader.Send(send.Packet);
                    break;
                case LogTxn log:
                    core.AcceptProposal(log.Header, log.Txn, log.Body);
                    break;
                case CommitThrough commit:
                    core.Commit(commit.Zxid);
                    break;
                case AnswerPing ping:
                    OnPing(ping.Ping);
                    break;
                case Sync.SessionRevalidated revalidated:
                    core.OnRevalidated(revalidated.SessionId, revalidated.Valid);
                    break;
                case SyncAnswered:
                    core.OnSyncReply();
                    break;
                case StartFollowing start:
                    core.TakeRole(this, null, start.EpochStartZxid);
                    host.StartedFollowing(start.Epoch);
                    break;
                case PersistEpoch persist:
                    host.PersistEpoch(persist.File, persist.Epoch);
                    break;
                case ReceiveSnapshot snapshot:
                    host.ReceiveSnapshot(snapshot.Zxid);
                    break;
                case TruncateLog truncate:
                    host.TruncateLog(truncate.Zxid);
                    break;
                case AbandonRole abandon:
                    host.Abandon(abandon.Reason);
                    break;
                case Warn warn:
                    host.Warn(warn.Text);
                    break;
                default:
                    throw new InvalidOperationException($"a learner cannot carry out {effect}");
            }
        }
    }

    public void Forward(ClientRequest request, long sessionId)
    {
        _scratch.Reset();
        _scratch.WriteLong(sessionId);
        _scratch.WriteInt(request.Xid);
        _scratch.WriteInt((int)request.Type);
        switch (request.Type)
        {
            case OpCode.CreateSession:
                _scratch.WriteInt(request.CreateTimeout);
                break;
            case OpCode.CloseSession:
                break;
            case OpCode.Multi:
                RequestCodec.WriteMulti(_scratch, request.MultiOps ?? []);
                break;
            case OpCode.Reconfig:
                // An unreadable body never gets here: the core answers it MarshallingError, as Apache.
                (request.Reconfig ?? throw new InvalidOperationException("a reconfig without a body is not forwarded")).Write(_scratch);
                break;
            default:
                RequestCodec.WritePathRequest(_scratch, request.Type, request.Body!);
                break;
        }

        var auth = request.Connection?.AuthInfo ?? [];
        leader.Send(new QuorumPacket(PacketType.Request, -1, _scratch.WrittenSpan.ToArray(), [.. auth]));
    }

    public void Revalidate(long sessionId, int timeout)
    {
        var data = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(data, sessionId);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), timeout);
        leader.Send(new QuorumPacket(PacketType.Revalidate, -1, data));
    }

    /// <summary>Answers the leader's PING with (long session id, int timeout) for each session active here.</summary>
    private void OnPing(QuorumPacket ping)
    {
        var touched = core.TakeTouchedSessions();
        var data = new byte[touched.Count * 12];
        for (var i = 0; i < touched.Count; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(i * 12), touched[i].SessionId);
            BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(i * 12 + 8), touched[i].Timeout);
        }

        leader.Send(new QuorumPacket(PacketType.Ping, ping.Zxid, data, ping.AuthInfo));
    }
}
