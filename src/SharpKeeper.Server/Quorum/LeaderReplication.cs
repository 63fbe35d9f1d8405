using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Reconfig;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// The leader's side of ZAB broadcast, on the core thread: every txn the core prepares is proposed
/// to the followers; it commits once a quorum of the membership's voters (this server included) has
/// logged it (of both memberships while a reconfig is in progress), and COMMIT goes to every
/// follower in zxid order (INFORM to observers). A reconfig commits with COMMITANDACTIVATE (and
/// INFORMANDACTIVATE), naming the leader of the new membership. It also brings joining learners up
/// to date (DIFF from the core's committed history, TRUNC of a history that diverged, or SNAP of the whole tree).
/// </summary>
public sealed class LeaderReplication : IReplication, ITxnProposer, IMembershipChanger
{
    private readonly ServerCore _core;
    private readonly long _myId;
    private readonly QuorumMembership _membership;
    private readonly ReconfigSettings _reconfig;
    private readonly long _epoch;
    private readonly ILogger _logger;
    private readonly List<PeerLink> _learners = [];
    private readonly Queue<Proposal> _proposals = new();
    private readonly List<(PeerLink Learner, long AfterZxid)> _pendingSyncs = [];
    private long _selfDurable;
    private long _lastCommitted;
    private long _nextPing;
    private bool _handedOff;
    private QuorumVerifier[]? _verifiers;

    public LeaderReplication(ServerCore core, long myId, QuorumMembership membership, ReconfigSettings reconfig, long epoch, int tickTimeMs, int syncLimit, ILogger logger)
    {
        _core = core;
        _myId = myId;
        _membership = membership;
        _reconfig = reconfig;
        _epoch = epoch;
        _logger = logger;
        TickTimeMs = tickTimeMs;
        SyncLimit = syncLimit;
        _lastCommitted = core.Tree.LastProcessedZxid;
        _selfDurable = _lastCommitted;
        if (reconfig.Enabled && membership.Committed.Version == 0 && membership.LastSeen.Version == 0)
        {
            // As Apache: a membership never established takes the version of the epoch that establishes it.
            membership.SetLastSeen(membership.Committed.WithVersion(Zxid.Make(epoch, 0)));
        }
    }

    /// <summary>A proposal in flight: the memberships whose quorums must log it, and the membership it proposes if it is a reconfig.</summary>
    private readonly record struct Proposal(long Zxid, byte[] Data, QuorumVerifier[] Verifiers, QuorumVerifier? Membership);

    /// <summary>Raised on the core thread when a reconfig committed that hands leadership to another server (its id).</summary>
    public event Action<long>? HandedOff;

    public int TickTimeMs { get; }

    /// <summary>The epoch this leader leads.</summary>
    public long Epoch => _epoch;

    public int SyncLimit { get; }

    /// <summary>Raised on the core thread when a quorum of voters stopped answering: leadership is over.</summary>
    public event Action<string>? LostQuorum;

    public IReadOnlyList<PeerLink> Learners => _learners;

    public int SyncedVoters => _learners.Count(l => IsSyncedFollower(l) && _membership.Committed.IsVoter(l.Sid));

    /// <summary>Followers the committed membership does not count (joining, or removed by a reconfig).</summary>
    public int SyncedNonVotingFollowers => _learners.Count(l => IsSyncedFollower(l) && !_membership.Committed.IsVoter(l.Sid));

    /// <summary>A follower still connected that finished its sync: its acks count for the memberships it votes in.</summary>
    private static bool IsSyncedFollower(PeerLink learner) => learner.IsFollower && learner.IsSynced && !learner.IsClosed;

    public int SyncedObservers => _learners.Count(l => l.IsSynced && !l.IsFollower && !l.IsClosed);

    public int PendingSyncs => _pendingSyncs.Count;

    /// <summary>Sizes of proposal packets' data, as srvr and mntr report them (-1 before the first).</summary>
    public int LastProposalSize { get; private set; } = -1;

    public int MinProposalSize { get; private set; } = -1;

    public int MaxProposalSize { get; private set; } = -1;

    public long StartedMillis { get; } = Environment.TickCount64;

    public long LastProposed => _proposals.Count > 0 ? _proposals.Last().Zxid : _lastCommitted;

    /// <summary>The epoch began: a membership this leader saw proposed (or versioned at its start) is now the committed one.</summary>
    public void Established()
    {
        if (_reconfig.Enabled)
        {
            _membership.Activate(_membership.LastSeen);
        }
    }

    public void Proposed(long zxid, byte[] data)
    {
        _core.Stats.Proposals.Increment();
        var proposed = _reconfig.Enabled ? ReconfigTxn.MembershipOf(data, _reconfig.MultiAddressEnabled) : null;
        if (proposed is not null)
        {
            _membership.SetLastSeen(proposed);
        }

        _proposals.Enqueue(new Proposal(zxid, data, CurrentVerifiers(), proposed));
        LastProposalSize = data.Length;
        MinProposalSize = MinProposalSize < 0 ? data.Length : Math.Min(MinProposalSize, data.Length);
        MaxProposalSize = Math.Max(MaxProposalSize, data.Length);
        var packet = new QuorumPacket(PacketType.Proposal, zxid, data);
        foreach (var learner in _learners)
        {
            // Observers do not vote: they hear of a txn once it is committed (INFORM).
            if (learner.IsFollower)
            {
                learner.Send(packet);
            }
        }
    }

    /// <summary>
    /// The memberships whose quorums a proposal needs now: the committed one, and the next one
    /// while a reconfig is in progress. Shared by every proposal until the memberships change.
    /// </summary>
    private QuorumVerifier[] CurrentVerifiers()
    {
        var committed = _membership.Committed;
        var lastSeen = _membership.LastSeen;
        if (_verifiers is not { } cached || !ReferenceEquals(cached[0], committed) || !ReferenceEquals(cached[^1], lastSeen))
        {
            _verifiers = cached = lastSeen.Version > committed.Version ? [committed, lastSeen] : [committed];
        }

        return cached;
    }

    /// <summary>Apache's reconfig checks that need the quorum, in its order; the membership text the txn will carry.</summary>
    public string PlanReconfig(ReconfigRequest request, long zxid)
    {
        if (_membership.IsReconfigPending)
        {
            throw new KeeperException(ErrorCode.ReconfigInProgress);
        }

        var current = _membership.LastSeen;
        if (request.CurConfigId != -1 && request.CurConfigId != current.Version)
        {
            throw new KeeperException(ErrorCode.BadVersion, DataTree.ConfigPath);
        }

        var next = ReconfigPlanner.Plan(request, current, zxid, _reconfig.StandaloneEnabled, _reconfig.MultiAddressEnabled);
        if (!next.ContainsQuorum(SyncedServers()))
        {
            throw new KeeperException(ErrorCode.NewConfigNoQuorum);
        }

        return next.Text;
    }

    /// <summary>This server and every synchronized follower still connected.</summary>
    private IEnumerable<long> SyncedServers()
    {
        yield return _myId;
        foreach (var learner in _learners)
        {
            if (IsSyncedFollower(learner))
            {
                yield return learner.Sid;
            }
        }
    }

    public void LocallyDurable(long zxid)
    {
        _selfDurable = Math.Max(_selfDurable, zxid);
        TryCommit();
    }

    public void OnAck(PeerLink learner, long zxid)
    {
        if (Zxid.CounterOf(zxid) == 0)
        {
            // The acknowledgement of NEWLEADER or UPTODATE, not of a txn.
            return;
        }

        learner.AckedZxid = Math.Max(learner.AckedZxid, zxid);
        TryCommit();
    }

    private void TryCommit()
    {
        var committed = false;

        // In zxid order, each once a quorum of each of its memberships has logged it: acks are
        // cumulative as logs are written in order. A leader that handed off commits nothing more.
        while (!_handedOff && _proposals.Count > 0 && IsLoggedByQuorums(_proposals.Peek()))
        {
            var proposal = _proposals.Dequeue();
            var zxid = proposal.Zxid;
            if (proposal.Membership is { } membership)
            {
                CommitReconfig(proposal, membership);
            }
            else
            {
                var commit = new QuorumPacket(PacketType.Commit, zxid);
                QuorumPacket? inform = null;
                foreach (var learner in _learners)
                {
                    learner.Send(learner.IsFollower ? commit : inform ??= new QuorumPacket(PacketType.Inform, zxid, proposal.Data));
                }
            }

            _lastCommitted = zxid;
            _core.Stats.Commits.Increment();
            committed = true;
        }

        if (committed)
        {
            _core.Commit(_lastCommitted);
            AnswerSyncs();
        }
    }

    private bool IsLoggedByQuorums(Proposal proposal)
    {
        foreach (var verifier in proposal.Verifiers)
        {
            var logged = _selfDurable >= proposal.Zxid && verifier.IsVoter(_myId) ? 1 : 0;
            foreach (var learner in _learners)
            {
                if (IsSyncedFollower(learner) && learner.AckedZxid >= proposal.Zxid && verifier.IsVoter(learner.Sid))
                {
                    logged++;
                }
            }

            if (logged <= verifier.Voters.Count / 2)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// As Apache's tryToCommit for a reconfig: the new membership becomes the committed one here, the
    /// followers get COMMITANDACTIVATE and the observers INFORMANDACTIVATE, both naming the leader of
    /// the new membership; when that is another server, this one commits nothing more.
    /// </summary>
    private void CommitReconfig(Proposal proposal, QuorumVerifier membership)
    {
        var designated = DesignatedLeader(proposal, membership);
        _membership.Activate(membership);
        var leaderId = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(leaderId, designated);
        var commit = new QuorumPacket(PacketType.CommitAndActivate, proposal.Zxid, leaderId);
        QuorumPacket? inform = null;
        foreach (var learner in _learners)
        {
            learner.Send(learner.IsFollower ? commit : inform ??= new QuorumPacket(PacketType.InformAndActivate, proposal.Zxid, [.. leaderId, .. proposal.Data]));
        }

        _logger.LogInformation(
            "Reconfig 0x{Zxid:x} committed: voters {Voters}, leader {Leader}", proposal.Zxid, string.Join(",", membership.Voters.Order()), designated);
        if (designated != _myId)
        {
            _handedOff = true;
            HandedOff?.Invoke(designated);
        }
    }

    /// <summary>
    /// As Apache's getDesignatedLeader: this server while it votes in the new membership at the same
    /// quorum address; otherwise a voter of the new membership that logged the reconfig and, as far
    /// as that narrows it to someone, the proposals after it (the lowest id among equals).
    /// </summary>
    private long DesignatedLeader(Proposal proposal, QuorumVerifier membership)
    {
        var current = _membership.Committed;
        if (membership.IsVoter(_myId) && current.Members.TryGetValue(_myId, out var before) && membership.Members[_myId].HasSameQuorumAddresses(before))
        {
            return _myId;
        }

        var candidates = AckedBy(proposal.Zxid).Where(membership.IsVoter).ToHashSet();
        foreach (var later in _proposals)
        {
            var narrowed = candidates.Intersect(AckedBy(later.Zxid)).ToHashSet();
            if (narrowed.Count == 0)
            {
                break;
            }

            candidates = narrowed;
            if (candidates.Count == 1)
            {
                break;
            }
        }

        return candidates.Count > 0 ? candidates.Min() : _myId;
    }

    private IEnumerable<long> AckedBy(long zxid) =>
        _learners.Where(l => IsSyncedFollower(l) && l.AckedZxid >= zxid).Select(l => l.Sid);

    /// <summary>A learner's sync(): answered once every txn proposed before it is committed.</summary>
    public void OnSyncRequest(PeerLink learner)
    {
        _pendingSyncs.Add((learner, LastProposed));
        AnswerSyncs();
    }

    private void AnswerSyncs()
    {
        for (var i = 0; i < _pendingSyncs.Count; i++)
        {
            var (learner, after) = _pendingSyncs[i];
            if (after <= _lastCommitted)
            {
                learner.Send(new QuorumPacket(PacketType.Sync, 0));
                _pendingSyncs.RemoveAt(i);
                i--;
            }
        }
    }

    /// <summary>
    /// Brings a learner whose log ends at <paramref name="peerLastZxid"/> up to date and starts
    /// forwarding proposals to it, all in one step on the core thread so nothing is missed: DIFF
    /// (or TRUNC, then DIFF) with the committed txns it lacks, or SNAP; then the proposals still in
    /// flight; then NEWLEADER. Returns the sync chosen and why, for the log.
    /// </summary>
    public string AddLearner(PeerLink learner, long peerLastZxid, LoggedTxns? fromLog = null)
    {
        var kind = Sync.CatchUp.Send(learner, peerLastZxid, _lastCommitted, _core, fromLog);
        (kind.StartsWith("SNAP", StringComparison.Ordinal) ? _core.Stats.Snaps : _core.Stats.Diffs).Increment();
        if (learner.IsFollower)
        {
            foreach (var proposal in _proposals)
            {
                learner.Send(new QuorumPacket(PacketType.Proposal, proposal.Zxid, proposal.Data));
            }
        }

        // As Apache: NEWLEADER carries the last membership seen; the learner activates it at UPTODATE.
        learner.Send(new QuorumPacket(PacketType.NewLeader, Zxid.Make(_epoch, 0), Encoding.UTF8.GetBytes(_membership.LastSeen.Text)));
        _learners.Add(learner);
        return kind;
    }

    public void RemoveLearner(PeerLink learner)
    {
        _learners.Remove(learner);
        _pendingSyncs.RemoveAll(s => ReferenceEquals(s.Learner, learner));
        learner.Close();
    }

    /// <summary>A packet from a synchronized learner: ACK, PING (session activity), REVALIDATE or REQUEST.</summary>
    public void OnLearnerPacket(PeerLink learner, QuorumPacket packet)
    {
        learner.LastHeardMillis = _core.Clock.MonotonicMillis;
        switch (packet.Type)
        {
            case PacketType.Ack:
                OnAck(learner, packet.Zxid);
                break;
            case PacketType.Ping:
                OnPing(packet);
                break;
            case PacketType.Revalidate:
                OnRevalidate(learner, packet);
                break;
            case PacketType.Request:
                OnForwarded(learner, packet);
                break;
            default:
                _logger.LogWarning("Unexpected {Packet} from server {Sid}", packet, learner.Sid);
                break;
        }
    }

    /// <summary>A REQUEST: long session id, int cxid, int type, then the request body as the client sent it.</summary>
    private void OnForwarded(PeerLink learner, QuorumPacket packet)
    {
        var data = packet.Data ?? [];
        if (data.Length < 16)
        {
            return;
        }

        var sessionId = BinaryPrimitives.ReadInt64BigEndian(data);
        var cxid = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8));
        var type = (OpCode)BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
        if (type == OpCode.Sync)
        {
            OnSyncRequest(learner);
            return;
        }

        ClientRequest request;
        try
        {
            request = ForwardedRequest.Decode(data.AsSpan(16), sessionId, cxid, type, packet.AuthInfo);
        }
        catch (JuteException e)
        {
            _logger.LogWarning("Cannot decode a {Type} request forwarded by server {Sid}: {Message}", type, learner.Sid, e.Message);
            return;
        }

        _core.OnForwardedRequest(request);
    }

    /// <summary>Answers a learner's REVALIDATE: long session id, boolean valid.</summary>
    public void OnRevalidate(PeerLink learner, QuorumPacket packet)
    {
        var data = packet.Data ?? [];
        if (data.Length < 12)
        {
            return;
        }

        var sessionId = BinaryPrimitives.ReadInt64BigEndian(data);
        var timeout = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8));
        var valid = _core.RevalidateSession(sessionId, timeout);
        var answer = new byte[9];
        BinaryPrimitives.WriteInt64BigEndian(answer, sessionId);
        answer[8] = valid ? (byte)1 : (byte)0;
        learner.Send(new QuorumPacket(PacketType.Revalidate, packet.Zxid, answer));
    }

    /// <summary>A learner's PING answer lists the sessions active there: (long id, int timeout)*.</summary>
    public void OnPing(QuorumPacket packet)
    {
        var data = packet.Data ?? [];
        for (var offset = 0; offset + 12 <= data.Length; offset += 12)
        {
            _core.TouchSession(BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(offset)));
        }
    }

    public void OnTick(long now)
    {
        if (now < _nextPing)
        {
            return;
        }

        _nextPing = now + Math.Max(1, TickTimeMs / 2);
        var ping = new QuorumPacket(PacketType.Ping, _lastCommitted);
        var alive = new List<long>(_learners.Count + 1) { _myId };
        var deadline = (long)TickTimeMs * SyncLimit;
        foreach (var learner in _learners.ToList())
        {
            if (learner.IsClosed)
            {
                RemoveLearner(learner);
                continue;
            }

            learner.Send(ping);
            if (IsSyncedFollower(learner) && now - learner.LastHeardMillis <= deadline)
            {
                alive.Add(learner.Sid);
            }
        }

        // A quorum of the committed membership, and of the next one while a reconfig is in progress.
        foreach (var verifier in CurrentVerifiers())
        {
            if (!verifier.ContainsQuorum(alive))
            {
                var voting = alive.Count(verifier.IsVoter);
                LostQuorum?.Invoke($"only {voting} of {verifier.Voters.Count} voters answered within syncLimit ({deadline} ms)");
                return;
            }
        }
    }
}
