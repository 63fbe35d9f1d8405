using System.Buffers.Binary;

namespace SharpKeeper.Server.Quorum.Sync;

/// <summary>Where a leader is between its election and serving.</summary>
public enum LeaderPhase
{
    /// <summary>Waiting for a quorum of voters to join (FOLLOWERINFO) so the new epoch can be chosen.</summary>
    Joining,

    /// <summary>LEADERINFO sent; waiting for a quorum to acknowledge the epoch (ACKEPOCH).</summary>
    AcknowledgingEpoch,

    /// <summary>Synchronizing learners; waiting for a quorum (this server once its log is durable) to acknowledge NEWLEADER.</summary>
    Synchronizing,

    /// <summary>Serving clients; learners that join now are synchronized and sent UPTODATE one by one.</summary>
    Serving,

    /// <summary>The leadership is over (<see cref="LeaderSync.FailureReason"/> says why).</summary>
    Failed,
}

/// <summary>What a leader starts with: identity, voters, limits and what its disk holds.</summary>
public sealed record LeaderSyncStart(
    long MyId,
    IReadOnlySet<long> Voters,
    IReadOnlySet<long>? Members,
    long InitLimitMs,
    long AcceptedEpoch,
    long CurrentEpoch,
    long LastZxid,
    long DurableZxid);

/// <summary>
/// A leader's side of ZAB discovery and synchronization as a state machine on the core thread:
/// it takes learners' handshake packets (FOLLOWERINFO, ACKEPOCH, the acknowledgement of NEWLEADER),
/// the local log's durability and time, and hands back <see cref="SyncEffect"/>s. Each step passes
/// once a quorum of voters (this server included) has reached it, within initLimit:
/// <list type="number">
/// <item>joined: the new epoch is the largest accepted epoch plus one;</item>
/// <item>acknowledged the epoch: no voter may be more up to date than this leader;</item>
/// <item>acknowledged NEWLEADER after its sync (this server: once everything it logged is durable).</item>
/// </list>
/// Then it serves; a learner that joins later is synchronized and sent UPTODATE on its own.
/// Broadcast itself (proposals, acks, commits) is <see cref="LeaderReplication"/>'s.
/// </summary>
public sealed class LeaderSync
{
    private readonly LeaderSyncStart _start;
    private readonly Dictionary<PeerLink, Learner> _learners = [];
    private readonly HashSet<long> _joined = [];
    private readonly HashSet<long> _ackedEpoch = [];
    private readonly HashSet<long> _ackedNewLeader = [];
    private List<SyncEffect>? _effects;
    private long _proposedEpoch;
    private long _durable;

    public LeaderSync(LeaderSyncStart start)
    {
        _start = start;
        _durable = start.DurableZxid;
        _proposedEpoch = start.AcceptedEpoch + 1;
    }

    public LeaderPhase Phase { get; private set; } = LeaderPhase.Joining;

    /// <summary>The new epoch, once a quorum joined (-1 before).</summary>
    public long Epoch { get; private set; } = -1;

    /// <summary>Monotonic time by which the current step must pass.</summary>
    public long Deadline { get; private set; }

    public string? FailureReason { get; private set; }

    /// <summary>True once everything this server logged before leading is durable (it then counts towards NEWLEADER).</summary>
    public bool OwnLogDurable => _durable >= _start.LastZxid;

    /// <summary>Learners whose handshake is under way (NEWLEADER not yet acknowledged).</summary>
    public int Handshaking => _learners.Values.Count(l => l.Step != LearnerStep.Synced);

    /// <summary>True once the learner acknowledged NEWLEADER: its packets are broadcast traffic from then on.</summary>
    public bool IsSynced(PeerLink learner) => _learners.TryGetValue(learner, out var state) && state.Step == LearnerStep.Synced;

    public IReadOnlyList<SyncEffect> Start(long now)
    {
        Deadline = now + _start.InitLimitMs;
        _joined.Add(_start.MyId);
        TryChooseEpoch(now);
        return Take();
    }

    /// <summary>FOLLOWERINFO or OBSERVERINFO: the learner's accepted epoch is its zxid's epoch.</summary>
    public IReadOnlyList<SyncEffect> LearnerInfo(PeerLink learner, QuorumPacket info, long now)
    {
        if (Phase == LeaderPhase.Failed)
        {
            return Drop(learner, "this server no longer leads");
        }

        if (_start.Members is { } members && !members.Contains(learner.Sid))
        {
            return Drop(learner, $"server {learner.Sid} is not in the configuration");
        }

        if (_learners.Keys.FirstOrDefault(l => l.Sid == learner.Sid) is { } previous)
        {
            // The same server again (it reconnected): its old connection is gone.
            Forget(previous);
            Emit(new DropLearner(previous, $"server {learner.Sid} connected again"));
        }

        var state = new Learner(learner) { Step = LearnerStep.Joined, Deadline = Deadline };
        _learners[learner] = state;
        if (Epoch < 0)
        {
            if (_start.Voters.Contains(learner.Sid))
            {
                _proposedEpoch = Math.Max(_proposedEpoch, Zxid.EpochOf(info.Zxid) + 1);
                _joined.Add(learner.Sid);
            }

            TryChooseEpoch(now);
        }
        else
        {
            SendLeaderInfo(state, now);
        }

        return Take();
    }

    /// <summary>ACKEPOCH: the learner's current epoch (-1: it had accepted this epoch before) and, as zxid, its last logged txn.</summary>
    public IReadOnlyList<SyncEffect> AckEpoch(PeerLink learner, QuorumPacket ack, long now)
    {
        if (!_learners.TryGetValue(learner, out var state) || state.Step != LearnerStep.InformedOfEpoch
            || ack.Type != PacketType.AckEpoch || ack.Data is not { Length: >= 4 } data)
        {
            return Drop(learner, $"server {learner.Sid} answered LEADERINFO with {ack}");
        }

        var currentEpoch = BinaryPrimitives.ReadInt32BigEndian(data);
        var lastZxid = ack.Zxid;
        var voter = _start.Voters.Contains(learner.Sid);
        if (currentEpoch != -1 && Phase == LeaderPhase.AcknowledgingEpoch
            && (currentEpoch > _start.CurrentEpoch || (currentEpoch == _start.CurrentEpoch && lastZxid > _start.LastZxid)))
        {
            return Fail($"server {learner.Sid} is ahead of the leader (epoch {currentEpoch}, zxid 0x{lastZxid:x} against {_start.CurrentEpoch}, 0x{_start.LastZxid:x})");
        }

        state.PeerLastZxid = lastZxid;
        state.Step = LearnerStep.AckedEpoch;
        if (Phase == LeaderPhase.AcknowledgingEpoch)
        {
            if (voter && currentEpoch != -1)
            {
                _ackedEpoch.Add(learner.Sid);
            }

            TryBeginEpoch(now);
        }
        else if (Phase is LeaderPhase.Synchronizing or LeaderPhase.Serving)
        {
            Synchronize(state, now);
        }

        return Take();
    }

    /// <summary>The learner's answer to NEWLEADER (an ACK of the epoch's zxid 0).</summary>
    public IReadOnlyList<SyncEffect> NewLeaderAck(PeerLink learner, QuorumPacket ack, long now)
    {
        if (!_learners.TryGetValue(learner, out var state) || state.Step != LearnerStep.Synchronizing
            || ack.Type != PacketType.Ack || ack.Zxid != Zxid.Make(Epoch, 0))
        {
            return Drop(learner, $"server {learner.Sid} answered NEWLEADER with {ack}");
        }

        state.Step = LearnerStep.Synced;
        learner.IsSynced = true;
        learner.LastHeardMillis = now;
        if (Phase == LeaderPhase.Serving)
        {
            Emit(new SendToLearner(learner, new QuorumPacket(PacketType.UpToDate, -1)));
        }
        else if (Phase == LeaderPhase.Synchronizing)
        {
            if (_start.Voters.Contains(learner.Sid))
            {
                _ackedNewLeader.Add(learner.Sid);
            }

            TryStartLeading(now);
        }

        return Take();
    }

    /// <summary>The local log is durable through <paramref name="zxid"/>.</summary>
    public IReadOnlyList<SyncEffect> Durable(long zxid, long now)
    {
        _durable = Math.Max(_durable, zxid);
        if (Phase == LeaderPhase.Synchronizing)
        {
            TryStartLeading(now);
        }

        return Take();
    }

    /// <summary>A learner's connection ended.</summary>
    public IReadOnlyList<SyncEffect> LearnerLeft(PeerLink learner)
    {
        Forget(learner);
        return Take();
    }

    /// <summary>Time passes: a step that no quorum reached within initLimit ends the leadership; a learner that stalls is dropped.</summary>
    public IReadOnlyList<SyncEffect> Tick(long now)
    {
        if (Phase is LeaderPhase.Joining or LeaderPhase.AcknowledgingEpoch or LeaderPhase.Synchronizing && now > Deadline)
        {
            return Fail(TimeoutText());
        }

        foreach (var state in _learners.Values.ToList())
        {
            if (state.Step is LearnerStep.InformedOfEpoch or LearnerStep.Synchronizing && now > state.Deadline)
            {
                var awaited = state.Step == LearnerStep.InformedOfEpoch ? "ACKEPOCH" : "its acknowledgement of NEWLEADER";
                Forget(state.Link);
                Emit(new DropLearner(state.Link, $"server {state.Link.Sid} sent no {awaited} within initLimit ({_start.InitLimitMs} ms)"));
            }
        }

        return Take();
    }

    private void TryChooseEpoch(long now)
    {
        if (!IsQuorum(_joined))
        {
            return;
        }

        Epoch = _proposedEpoch;
        Phase = LeaderPhase.AcknowledgingEpoch;
        Deadline = now + _start.InitLimitMs;
        Emit(new PersistEpoch(EpochFiles.Accepted, Epoch));
        foreach (var state in _learners.Values.Where(l => l.Step == LearnerStep.Joined).ToList())
        {
            SendLeaderInfo(state, now);
        }

        // This server acknowledges its own epoch with its own state, which is never ahead of itself.
        _ackedEpoch.Add(_start.MyId);
        TryBeginEpoch(now);
    }

    private void SendLeaderInfo(Learner state, long now)
    {
        var version = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(version, 0x10000);
        state.Step = LearnerStep.InformedOfEpoch;
        state.Deadline = now + _start.InitLimitMs;
        Emit(new SendToLearner(state.Link, new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(Epoch, 0), version)));
    }

    private void TryBeginEpoch(long now)
    {
        if (Phase != LeaderPhase.AcknowledgingEpoch || !IsQuorum(_ackedEpoch))
        {
            return;
        }

        Phase = LeaderPhase.Synchronizing;
        Deadline = now + _start.InitLimitMs;
        Emit(new PersistEpoch(EpochFiles.Current, Epoch));
        Emit(new BeginEpoch(Epoch));
        foreach (var state in _learners.Values.Where(l => l.Step == LearnerStep.AckedEpoch).ToList())
        {
            Synchronize(state, now);
        }

        TryStartLeading(now);
    }

    private void Synchronize(Learner state, long now)
    {
        state.Step = LearnerStep.Synchronizing;
        state.Deadline = now + _start.InitLimitMs;
        Emit(new SynchronizeLearner(state.Link, state.PeerLastZxid));
    }

    /// <summary>This server counts towards the NEWLEADER quorum once everything it logged before leading is durable.</summary>
    private void TryStartLeading(long now)
    {
        if (_durable >= _start.LastZxid)
        {
            _ackedNewLeader.Add(_start.MyId);
        }

        if (!IsQuorum(_ackedNewLeader))
        {
            return;
        }

        Phase = LeaderPhase.Serving;
        Emit(new StartLeading(Epoch));
        foreach (var state in _learners.Values.Where(l => l.Step == LearnerStep.Synced))
        {
            Emit(new SendToLearner(state.Link, new QuorumPacket(PacketType.UpToDate, -1)));
        }
    }

    private bool IsQuorum(HashSet<long> servers) =>
        servers.Contains(_start.MyId) && servers.Count(_start.Voters.Contains) > _start.Voters.Count / 2;

    private void Forget(PeerLink learner)
    {
        // As Apache: a voter that reached a step and then left still counts towards that step.
        _learners.Remove(learner);
    }

    private string TimeoutText()
    {
        var (what, reached) = Phase switch
        {
            LeaderPhase.Joining => ("a quorum to join with its epoch (FOLLOWERINFO)", _joined),
            LeaderPhase.AcknowledgingEpoch => ("a quorum to acknowledge the new epoch (ACKEPOCH)", _ackedEpoch),
            _ => (_durable >= _start.LastZxid
                ? "a quorum to acknowledge NEWLEADER"
                : $"a quorum to acknowledge NEWLEADER (this server's log is durable through 0x{_durable:x} of 0x{_start.LastZxid:x})", _ackedNewLeader),
        };
        var so = reached.Count == 0 ? "none" : string.Join(", ", reached.Order());
        return $"timed out after {_start.InitLimitMs} ms waiting for {what}; reached by server(s) {so} of voters {string.Join(", ", _start.Voters.Order())}";
    }

    private IReadOnlyList<SyncEffect> Drop(PeerLink learner, string reason)
    {
        Forget(learner);
        Emit(new DropLearner(learner, reason));
        return Take();
    }

    private IReadOnlyList<SyncEffect> Fail(string reason)
    {
        _effects = null;
        FailureReason = reason;
        Phase = LeaderPhase.Failed;
        Emit(new AbandonRole(reason));
        return Take();
    }

    private void Emit(SyncEffect effect) => (_effects ??= []).Add(effect);

    private IReadOnlyList<SyncEffect> Take()
    {
        IReadOnlyList<SyncEffect> effects = _effects ?? (IReadOnlyList<SyncEffect>)[];
        _effects = null;
        return effects;
    }

    private enum LearnerStep
    {
        Joined,
        InformedOfEpoch,
        AckedEpoch,
        Synchronizing,
        Synced,
    }

    private sealed class Learner(PeerLink link)
    {
        public PeerLink Link { get; } = link;
        public LearnerStep Step { get; set; }
        public long Deadline { get; set; }
        public long PeerLastZxid { get; set; }
    }
}
