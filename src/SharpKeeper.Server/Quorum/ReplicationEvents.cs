using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;
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
public sealed record LeaderLogDurable(LeaderRole Leader) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.Durable(core.DurableThroughZxid);
}

/// <summary>A learner's connection to the leader ended, during its handshake or after.</summary>
public sealed record LearnerDisconnected(LeaderRole Leader, PeerLink Learner) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.LearnerLeft(Learner);
}

/// <summary>A replication event its sender awaits: applied on the core thread and answered through <see cref="Reply"/>.</summary>
public abstract record ReplicationRequest<T> : ReplicationEvent
{
    public TaskCompletionSource<T> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public sealed override void Apply(ServerCore core)
    {
        try
        {
            Reply.TrySetResult(Answer(core));
        }
        catch (Exception e)
        {
            Reply.TrySetException(e);
        }
    }

    protected abstract T Answer(ServerCore core);
}

public static class ReplicationRequests
{
    /// <summary>Posts the request to the core and completes with its answer.</summary>
    public static Task<T> AskAsync<T>(this ServerCore core, ReplicationRequest<T> request)
    {
        core.Post(request);
        return request.Reply.Task;
    }
}

/// <summary>What a learner's driver needs to know after each step: when the next packet is due, and what it waits for.</summary>
public readonly record struct LearnerProgress(long Deadline, string Awaiting, long LastLogged)
{
    public static LearnerProgress Of(LearnerSync sync) => new(sync.Deadline, sync.Awaiting, sync.LastLogged);
}

/// <summary>The server leaves its role: clients disconnected, every logged txn applied; answered with the last zxid.</summary>
public sealed record StepDownRequested : ReplicationRequest<long>
{
    protected override long Answer(ServerCore core) => core.StepDown();
}

/// <summary>
/// Cut off from its quorum for the grace period, the server serves read-only clients from what it
/// has (readonlymode.enabled); answered with whether it does (not when it serves already).
/// </summary>
public sealed record ReadOnlyServingRequested : ReplicationRequest<bool>
{
    protected override bool Answer(ServerCore core) => core.ServeReadOnly();
}

/// <summary>A learner starts with what its disk holds: its state machine is built, becomes the core's replication and sends FOLLOWERINFO.</summary>
public sealed record LearningBegins(LearnerSettings Settings, EpochFiles Epochs, PeerLink Leader, ILearnerHost Host) : ReplicationRequest<(FollowerReplication Learner, LearnerProgress Progress)>
{
    protected override (FollowerReplication Learner, LearnerProgress Progress) Answer(ServerCore core)
    {
        var lastZxid = core.LastLoggedZxid;
        var sync = new LearnerSync(new LearnerSyncStart(
            Settings.MyId, Settings.Observer, Settings.ConfigVersion, Settings.InitLimitMs, Settings.SyncLimitMs,
            Epochs.Read(EpochFiles.Accepted, lastZxid), Epochs.Read(EpochFiles.Current, lastZxid), lastZxid, core.DurableThroughZxid));
        var learner = new FollowerReplication(core, Leader, sync, Host, Settings.Membership);
        core.SetReplication(learner);
        learner.Start();
        return (learner, LearnerProgress.Of(sync));
    }
}

/// <summary>Who a learner is and its limits, from the configuration.</summary>
public sealed record LearnerSettings(long MyId, bool Observer, long ConfigVersion, long InitLimitMs, long SyncLimitMs, Reconfig.LearnerMembership? Membership = null);

/// <summary>A packet from the leader before this learner serves; answered with what comes next.</summary>
public sealed record SyncPacketReceived(FollowerReplication Follower, QuorumPacket Packet, DecodedTxn? Txn) : ReplicationRequest<LearnerProgress>
{
    protected override LearnerProgress Answer(ServerCore core)
    {
        Follower.Receive(Packet, Txn);
        return LearnerProgress.Of(Follower.Sync);
    }
}

/// <summary>The leader's snapshot is durable here: it replaces the tree.</summary>
public sealed record LeaderSnapshotInstalled(FollowerReplication Follower, DataTree Tree, IReadOnlyDictionary<long, int> Sessions, long Zxid) : ReplicationRequest<LearnerProgress>
{
    protected override LearnerProgress Answer(ServerCore core)
    {
        core.ReplaceTree(Tree, Sessions);
        Follower.SnapshotInstalled(Zxid);
        return LearnerProgress.Of(Follower.Sync);
    }
}

/// <summary>The log was cut back and the store recovered from it: the tree and history are replaced.</summary>
public sealed record LearnerLogTruncated(FollowerReplication Follower, RecoveredState Recovered) : ReplicationRequest<LearnerProgress>
{
    protected override LearnerProgress Answer(ServerCore core)
    {
        core.ReplaceTree(Recovered.Tree, Recovered.Sessions);
        core.Committed.Reset(Recovered.HistoryBase, Recovered.RecentTxns);
        Follower.Truncated(Recovered.Tree.LastProcessedZxid);
        return LearnerProgress.Of(Follower.Sync);
    }
}

/// <summary>Completes once every txn handed to the log so far is durable (before the log file is cut).</summary>
public sealed record LogDrainRequested : ReplicationRequest<Task>
{
    protected override Task Answer(ServerCore core) => core.WaitDurableAsync(core.LastLoggedZxid);
}

/// <summary>Who a leader is and its limits, from the configuration.</summary>
/// <summary>A leader's start: <paramref name="Members"/> null lets any server join (as a follower without a vote unless it votes).</summary>
public sealed record LeaderSettings(long MyId, IReadOnlySet<long> Voters, IReadOnlySet<long>? Members, long InitLimitMs);

/// <summary>A leader starts with what its disk holds; answered with its role and a task that completes when its log is durable.</summary>
public sealed record LeadingBegins(LeaderSettings Settings, EpochFiles Epochs, ILeaderHost Host) : ReplicationRequest<(LeaderRole Role, Task Durable)>
{
    protected override (LeaderRole Role, Task Durable) Answer(ServerCore core)
    {
        var lastZxid = core.LastLoggedZxid;
        var sync = new LeaderSync(new LeaderSyncStart(
            Settings.MyId, Settings.Voters, Settings.Members, Settings.InitLimitMs,
            Epochs.Read(EpochFiles.Accepted, lastZxid), Epochs.Read(EpochFiles.Current, lastZxid), lastZxid, core.DurableThroughZxid));
        var role = new LeaderRole(core, sync, Host);
        role.Start();
        return (role, core.WaitDurableAsync(lastZxid));
    }
}

/// <summary>FOLLOWERINFO or OBSERVERINFO from a learner.</summary>
public sealed record LearnerInfoReceived(LeaderRole Leader, PeerLink Learner, QuorumPacket Packet) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.LearnerInfo(Learner, Packet);
}

/// <summary>A learner's answer to LEADERINFO.</summary>
public sealed record LearnerEpochAcked(LeaderRole Leader, PeerLink Learner, QuorumPacket Packet) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.AckEpoch(Learner, Packet);
}

/// <summary>A learner's answer to NEWLEADER.</summary>
public sealed record LearnerNewLeaderAcked(LeaderRole Leader, PeerLink Learner, QuorumPacket Packet) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Leader.NewLeaderAck(Learner, Packet);
}

/// <summary>The oldest zxid the committed history in memory can DIFF from.</summary>
public sealed record HistoryBaseRequested : ReplicationRequest<long>
{
    protected override long Answer(ServerCore core) => core.Committed.Base;
}

/// <summary>Synchronize a learner (txns read from the log off the core thread, if any); answered with the sync chosen and why.</summary>
public sealed record LearnerSyncRequested(LeaderRole Leader, PeerLink Learner, long PeerLastZxid, LoggedTxns? FromLog) : ReplicationRequest<string>
{
    protected override string Answer(ServerCore core) => Leader.AddLearner(Learner, PeerLastZxid, FromLog);
}

/// <summary>A follower begins serving observers (observerMasterPort); null when it no longer follows.</summary>
public sealed record ObserverRelayBegins(FollowerReplication Follower, Reconfig.QuorumMembership Membership, int TickTimeMs, Microsoft.Extensions.Logging.ILogger Logger)
    : ReplicationRequest<ObserverRelay?>
{
    protected override ObserverRelay? Answer(ServerCore core) =>
        ReferenceEquals(core.Replication, Follower) && Follower.Sync.Phase == LearnerPhase.Serving && Follower.Relay is null
            ? new ObserverRelay(core, Follower, Membership, Follower.Sync.Epoch, TickTimeMs, Logger)
            : null;
}

/// <summary>The follower stopped serving observers: their connections end.</summary>
public sealed record ObserverRelayEnds(ObserverRelay Relay) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Relay.Close();
}

/// <summary>An observer acknowledged the epoch: it is brought up to date and relayed txns from then on; answered with the sync chosen.</summary>
public sealed record ObserverSyncRequested(ObserverRelay Relay, PeerLink Observer, long PeerLastZxid, LoggedTxns? FromLog) : ReplicationRequest<string>
{
    protected override string Answer(ServerCore core) => Relay.Attach(Observer, PeerLastZxid, FromLog);
}

/// <summary>A packet from a synchronized observer to the follower serving it.</summary>
public sealed record ObserverPacketReceived(ObserverRelay Relay, PeerLink Observer, QuorumPacket Packet) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Relay.OnObserverPacket(Observer, Packet);
}

/// <summary>An observer's connection to the follower serving it ended.</summary>
public sealed record ObserverDisconnected(ObserverRelay Relay, PeerLink Observer) : ReplicationEvent
{
    public override void Apply(ServerCore core) => Relay.Detach(Observer);
}
