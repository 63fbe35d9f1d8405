using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// What a leader's effects need from where it runs (sockets and files, or a simulation). Called on
/// the core thread.
/// </summary>
public interface ILeaderHost
{
    void PersistEpoch(string file, long epoch);

    /// <summary>Broadcast state for the epoch a quorum acknowledged.</summary>
    LeaderReplication CreateReplication(long epoch);

    /// <summary>
    /// Bring the learner up to date: the host may read the txn log off the core thread first, then
    /// calls <see cref="LeaderRole.AddLearner"/> on it.
    /// </summary>
    void SynchronizeLearner(PeerLink learner, long peerLastZxid);

    void StartedLeading(long epoch);

    void DropLearner(PeerLink learner, string reason);

    void Abandon(string reason);
}

/// <summary>
/// A leader on the core thread, from its election on: it feeds learners' handshake packets, the
/// log's durability and ticks to its <see cref="LeaderSync"/>, carries out the effects (send,
/// begin the epoch's broadcast, serve) and hands the rest to its <see cref="ILeaderHost"/>. Once a
/// learner is synchronized, its packets go to <see cref="Replication"/>.
/// </summary>
public sealed class LeaderRole(ServerCore core, LeaderSync sync, ILeaderHost host)
{
    public LeaderSync Sync => sync;

    /// <summary>Broadcast state, once a quorum acknowledged the epoch.</summary>
    public LeaderReplication? Replication { get; private set; }

    private long Now => core.Clock.MonotonicMillis;

    public void Start() => Execute(sync.Start(Now));

    public void LearnerInfo(PeerLink learner, QuorumPacket info) => Execute(sync.LearnerInfo(learner, info, Now));

    public void AckEpoch(PeerLink learner, QuorumPacket ack) => Execute(sync.AckEpoch(learner, ack, Now));

    public void NewLeaderAck(PeerLink learner, QuorumPacket ack) => Execute(sync.NewLeaderAck(learner, ack, Now));

    public void Durable(long zxid) => Execute(sync.Durable(zxid, Now));

    public void Tick() => Execute(sync.Tick(Now));

    /// <summary>A packet from a learner: handshake packets to the state machine, the rest (once synchronized) to broadcast.</summary>
    public void Receive(PeerLink learner, QuorumPacket packet)
    {
        if (sync.IsSynced(learner) && Replication is { } replication)
        {
            replication.OnLearnerPacket(learner, packet);
        }
        else if (packet.Type is PacketType.FollowerInfo or PacketType.ObserverInfo)
        {
            LearnerInfo(learner, packet);
        }
        else if (packet.Type == PacketType.AckEpoch)
        {
            AckEpoch(learner, packet);
        }
        else
        {
            NewLeaderAck(learner, packet);
        }
    }

    /// <summary>Sends the learner what it lacks (DIFF, TRUNC or SNAP), the proposals in flight and NEWLEADER; returns the sync chosen and why.</summary>
    public string AddLearner(PeerLink learner, long peerLastZxid, LoggedTxns? fromLog)
    {
        var replication = Replication ?? throw new InvalidOperationException("no epoch has begun");
        return replication.AddLearner(learner, peerLastZxid, fromLog);
    }

    public void LearnerLeft(PeerLink learner)
    {
        Replication?.RemoveLearner(learner);
        Execute(sync.LearnerLeft(learner));
    }

    private void Execute(IReadOnlyList<SyncEffect> effects)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case SendToLearner send:
                    send.Learner.Send(send.Packet);
                    break;
                case PersistEpoch persist:
                    host.PersistEpoch(persist.File, persist.Epoch);
                    break;
                case BeginEpoch begin:
                    Replication = host.CreateReplication(begin.Epoch);
                    break;
                case SynchronizeLearner synchronize:
                    host.SynchronizeLearner(synchronize.Learner, synchronize.PeerLastZxid);
                    break;
                case StartLeading start:
                    core.TakeRole(Replication!, Zxid.Make(start.Epoch, 1), Zxid.Make(start.Epoch, 0));
                    Replication!.Established();
                    host.StartedLeading(start.Epoch);
                    break;
                case DropLearner drop:
                    Replication?.RemoveLearner(drop.Learner);
                    host.DropLearner(drop.Learner, drop.Reason);
                    break;
                case AbandonRole abandon:
                    host.Abandon(abandon.Reason);
                    break;
                default:
                    throw new InvalidOperationException($"a leader cannot carry out {effect}");
            }
        }
    }
}
