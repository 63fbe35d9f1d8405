using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// The leader's side of ZAB broadcast, on the core thread: every txn the core prepares is proposed
/// to the learners; it commits once a majority of voters (this server included) has logged it,
/// and COMMIT goes to every learner in zxid order. It also brings joining learners up to date
/// (DIFF from the core's committed history, TRUNC of a history that diverged, or SNAP of the whole tree).
/// </summary>
public sealed class LeaderReplication : IReplication, ITxnProposer
{
    private readonly ServerCore _core;
    private readonly int _voterCount;
    private readonly long _epoch;
    private readonly byte[] _configBytes;
    private readonly ILogger _logger;
    private readonly List<PeerLink> _learners = [];
    private readonly Queue<(long Zxid, byte[] Data)> _proposals = new();
    private readonly List<(PeerLink Learner, long AfterZxid)> _pendingSyncs = [];
    private long _selfDurable;
    private long _lastCommitted;
    private long _nextPing;

    public LeaderReplication(ServerCore core, int voterCount, long epoch, string config, int tickTimeMs, int syncLimit, ILogger logger)
    {
        _core = core;
        _voterCount = voterCount;
        _epoch = epoch;
        _configBytes = Encoding.UTF8.GetBytes(config);
        _logger = logger;
        TickTimeMs = tickTimeMs;
        SyncLimit = syncLimit;
        _lastCommitted = core.Tree.LastProcessedZxid;
        _selfDurable = _lastCommitted;
    }

    public int TickTimeMs { get; }

    /// <summary>The epoch this leader leads.</summary>
    public long Epoch => _epoch;

    public int SyncLimit { get; }

    /// <summary>Raised on the core thread when a quorum of voters stopped answering: leadership is over.</summary>
    public event Action<string>? LostQuorum;

    public IReadOnlyList<PeerLink> Learners => _learners;

    public int SyncedVoters => _learners.Count(l => l.IsSynced && l.IsVoter && !l.IsClosed);

    public int SyncedObservers => _learners.Count(l => l.IsSynced && !l.IsVoter && !l.IsClosed);

    public int PendingSyncs => _pendingSyncs.Count;

    /// <summary>Sizes of proposal packets' data, as srvr and mntr report them (-1 before the first).</summary>
    public int LastProposalSize { get; private set; } = -1;

    public int MinProposalSize { get; private set; } = -1;

    public int MaxProposalSize { get; private set; } = -1;

    public long StartedMillis { get; } = Environment.TickCount64;

    public long LastProposed => _proposals.Count > 0 ? _proposals.Last().Zxid : _lastCommitted;

    public void Proposed(long zxid, byte[] data)
    {
        _core.Stats.Proposals.Increment();
        _proposals.Enqueue((zxid, data));
        LastProposalSize = data.Length;
        MinProposalSize = MinProposalSize < 0 ? data.Length : Math.Min(MinProposalSize, data.Length);
        MaxProposalSize = Math.Max(MaxProposalSize, data.Length);
        var packet = new QuorumPacket(PacketType.Proposal, zxid, data);
        foreach (var learner in _learners)
        {
            // Observers do not vote: they hear of a txn once it is committed (INFORM).
            if (learner.IsVoter)
            {
                learner.Send(packet);
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
        if (_proposals.Count == 0)
        {
            return;
        }

        // The highest zxid a majority of voters has logged: acks are cumulative as logs are written in order.
        var acked = new List<long>(_learners.Count + 1) { _selfDurable };
        foreach (var learner in _learners)
        {
            if (learner.IsVoter && learner.IsSynced && !learner.IsClosed)
            {
                acked.Add(learner.AckedZxid);
            }
        }

        var needed = _voterCount / 2 + 1;
        if (acked.Count < needed)
        {
            return;
        }

        acked.Sort((a, b) => b.CompareTo(a));
        var committable = acked[needed - 1];
        if (committable <= _lastCommitted)
        {
            return;
        }

        while (_proposals.Count > 0 && _proposals.Peek().Zxid <= committable)
        {
            var (zxid, data) = _proposals.Dequeue();
            var commit = new QuorumPacket(PacketType.Commit, zxid);
            QuorumPacket? inform = null;
            foreach (var learner in _learners)
            {
                learner.Send(learner.IsVoter ? commit : inform ??= new QuorumPacket(PacketType.Inform, zxid, data));
            }

            _lastCommitted = zxid;
            _core.Stats.Commits.Increment();
        }

        _core.Commit(_lastCommitted);
        AnswerSyncs();
    }

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
        var kind = Synchronize(learner, peerLastZxid, fromLog);
        (kind.StartsWith("SNAP", StringComparison.Ordinal) ? _core.Stats.Snaps : _core.Stats.Diffs).Increment();
        if (learner.IsVoter)
        {
            foreach (var (zxid, data) in _proposals)
            {
                learner.Send(new QuorumPacket(PacketType.Proposal, zxid, data));
            }
        }

        learner.Send(new QuorumPacket(PacketType.NewLeader, Zxid.Make(_epoch, 0), _configBytes));
        _learners.Add(learner);
        return kind;
    }

    /// <summary>
    /// The choice between DIFF, TRUNC and SNAP, in the order Apache's LearnerHandler makes it. The
    /// committed history (<see cref="ServerCore.Committed"/>) holds every txn after its base; this
    /// leader's last zxid (<c>_lastCommitted</c>) may be past its newest txn, at an epoch start. A
    /// learner older than that history gets a DIFF from the txn log when <paramref name="fromLog"/>
    /// (read off this thread) reaches the history.
    /// </summary>
    private string Synchronize(PeerLink learner, long peer, LoggedTxns? fromLog)
    {
        var history = _core.Committed;
        if (peer == _lastCommitted)
        {
            learner.Send(new QuorumPacket(PacketType.Diff, _lastCommitted));
            return "DIFF (empty): it has every committed txn";
        }

        if (peer > _lastCommitted)
        {
            learner.Send(new QuorumPacket(PacketType.Trunc, _lastCommitted));
            return $"TRUNC to 0x{_lastCommitted:x}: it logged txns no quorum committed";
        }

        if (peer < history.Base && fromLog is { } logged && logged.Through >= history.Base)
        {
            learner.Send(new QuorumPacket(PacketType.Diff, _lastCommitted));
            foreach (var (zxid, data) in logged.Txns)
            {
                learner.Send(new QuorumPacket(PacketType.Proposal, zxid, data));
                learner.Send(new QuorumPacket(PacketType.Commit, zxid));
            }

            var fromMemory = SendHistory(learner, history, logged.Through);
            return $"DIFF from 0x{peer:x} ({logged.Txns.Count} txns, {logged.Bytes} bytes, from the txn log, {logged.Reason}; {fromMemory} from memory)";
        }

        if (peer < history.Base)
        {
            learner.Send(new QuorumPacket(PacketType.Snap, _lastCommitted));
            learner.SendRaw(SnapshotTransfer.Serialize(_core.Tree, _core.SessionTimeouts()));
            return $"SNAP at 0x{_lastCommitted:x}: its last zxid is older than the committed history in memory "
                + $"(after 0x{history.Base:x}, {history.Count} txns; commitLogCount {history.Capacity}), "
                + (fromLog is null ? "and the txn log cannot serve it" : "which moved on while the txn log was read");
        }

        // The learner has every txn up to its last zxid when that is in the history, is the history's
        // base, or starts an epoch (it synced with that epoch's leader and saw no txn of it). Otherwise
        // its newest txns were never committed: they are cut off back to the last zxid both share.
        string kind;
        var from = peer;
        if (peer == history.Base || Zxid.CounterOf(peer) == 0 || history.Contains(peer))
        {
            learner.Send(new QuorumPacket(PacketType.Diff, _lastCommitted));
            kind = $"DIFF from 0x{peer:x}";
        }
        else
        {
            from = history.LastAtOrBelow(peer);
            learner.Send(new QuorumPacket(PacketType.Trunc, from));
            kind = $"TRUNC to 0x{from:x}, then DIFF: its txns after that were never committed";
        }

        return $"{kind} ({SendHistory(learner, history, from)} txns)";
    }

    /// <summary>Sends the history's txns after <paramref name="from"/>, each as PROPOSAL then COMMIT; returns how many.</summary>
    private static int SendHistory(PeerLink learner, CommittedLog history, long from)
    {
        var sent = 0;
        foreach (var (zxid, data) in history.After(from))
        {
            learner.Send(new QuorumPacket(PacketType.Proposal, zxid, data));
            learner.Send(new QuorumPacket(PacketType.Commit, zxid));
            sent++;
        }

        return sent;
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
        var alive = 1;
        var deadline = (long)TickTimeMs * SyncLimit;
        foreach (var learner in _learners.ToList())
        {
            if (learner.IsClosed)
            {
                RemoveLearner(learner);
                continue;
            }

            learner.Send(ping);
            if (learner.IsVoter && learner.IsSynced && now - learner.LastHeardMillis <= deadline)
            {
                alive++;
            }
        }

        if (alive <= _voterCount / 2)
        {
            LostQuorum?.Invoke($"only {alive} of {_voterCount} voters answered within syncLimit ({deadline} ms)");
        }
    }
}
