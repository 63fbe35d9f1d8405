namespace SharpKeeper.Server.Quorum.Election;

/// <summary>
/// One round of FastLeaderElection as a deterministic state machine: it is fed notifications and
/// clock readings and answers with notifications to send, until it decides. Votes are ordered by
/// epoch, then zxid, then server id; a server decides once a quorum agrees with its proposal and no
/// better vote arrives within <see cref="FinalizeWaitMs"/>, or once a quorum of settled servers
/// names the same established leader. A server whose quorum agrees and that has heard every other
/// voter (or knows it cannot be reached: its election port refuses connections) decides at once:
/// no better vote can come, and waiting would only lengthen a failover.
/// </summary>
public sealed class FastLeaderElection
{
    public const int FinalizeWaitMs = 200;
    public const int MaxNotificationIntervalMs = 60000;

    private readonly long _myId;
    private IReadOnlySet<long> _voters;

    /// <summary>The voters of a membership proposed and not yet committed (null when none): a decision needs a quorum of them too.</summary>
    private IReadOnlySet<long>? _nextVoters;
    private string _config;
    private readonly Dictionary<long, Vote> _received = new();
    private readonly Dictionary<long, Vote> _outOfElection = new();
    private readonly HashSet<long> _unreachable = [];
    private long _initZxid;
    private long _initEpoch;
    private long _proposedLeader;
    private long _proposedZxid;
    private long _proposedEpoch;
    private long? _finalizeDeadline;
    private long _resendInterval;
    private long _nextResend;

    public FastLeaderElection(long myId, IReadOnlySet<long> voters, string config, long logicalClock = 0)
    {
        _myId = myId;
        _voters = voters;
        _config = config;
        LogicalClock = logicalClock;
    }

    /// <summary>A committed reconfig changed who votes: the round goes on with the new voters and membership text.</summary>
    public void UpdateView(IReadOnlySet<long> voters, string config, IReadOnlySet<long>? nextVoters = null)
    {
        _voters = voters;
        _config = config;
        _nextVoters = nextVoters;
    }

    /// <summary>The election round; it outlives one election (a new one starts at the next number).</summary>
    public long LogicalClock { get; private set; }

    /// <summary>The vote this server decided on, once it has.</summary>
    public Vote? Decision { get; private set; }

    /// <summary>True when the decision came from servers already following an established leader, not from this round's votes.</summary>
    public bool JoinedEstablishedLeader { get; private set; }

    public PeerState DecidedState => Decision?.State ?? PeerState.Looking;

    /// <summary>This server's current proposal as a notification of a looking server.</summary>
    public Notification CurrentNotification => new(PeerState.Looking, _proposedLeader, _proposedZxid, LogicalClock, _proposedEpoch, _config);

    /// <summary>The membership text this server's notifications carry (its committed membership).</summary>
    public string Config => _config;

    private bool IsVoter => _voters.Contains(_myId);

    /// <summary>Starts a new round proposing this server; returns the notifications to send (to every voter, this one included).</summary>
    public List<(long To, Notification Message)> Start(long lastZxid, long currentEpoch, long now)
    {
        LogicalClock++;
        _initZxid = lastZxid;
        _initEpoch = currentEpoch;
        _received.Clear();
        _outOfElection.Clear();
        _finalizeDeadline = null;
        Decision = null;
        ProposeInitial();
        _resendInterval = FinalizeWaitMs;
        _nextResend = now + _resendInterval;
        return Broadcast();
    }

    private void ProposeInitial()
    {
        // A non-voter proposes nobody it could win with.
        (_proposedLeader, _proposedZxid, _proposedEpoch) = IsVoter ? (_myId, _initZxid, _initEpoch) : (long.MinValue, long.MinValue, long.MinValue);
    }

    /// <summary>When <see cref="OnTimer"/> next has something to do.</summary>
    public long NextDeadline => _finalizeDeadline ?? _nextResend;

    /// <summary>Resends the proposal with backoff when nothing decides; decides when the finalize wait ran out.</summary>
    public List<(long To, Notification Message)> OnTimer(long now)
    {
        if (Decision is not null)
        {
            return [];
        }

        if (_finalizeDeadline is { } deadline && now >= deadline)
        {
            DecideProposal();
            return [];
        }

        if (now < _nextResend)
        {
            return [];
        }

        _resendInterval = Math.Min(_resendInterval * 2, MaxNotificationIntervalMs);
        _nextResend = now + _resendInterval;
        return Broadcast();
    }

    /// <summary>
    /// The channel could not connect to a server (its election port refused): its vote will not
    /// come, so a round whose quorum agrees need not wait for it.
    /// </summary>
    public void PeerUnreachable(long sid)
    {
        _unreachable.Add(sid);
        if (Decision is null && _finalizeDeadline is not null && EveryVoterAnswered())
        {
            DecideProposal();
        }
    }

    /// <summary>A connection with the server was made: its vote may come again.</summary>
    public void PeerReachable(long sid) => _unreachable.Remove(sid);

    /// <summary>Every voter (of both memberships during a reconfig) voted in this round or cannot be reached.</summary>
    private bool EveryVoterAnswered()
    {
        foreach (var voter in _nextVoters is { } next ? _voters.Union(next) : _voters)
        {
            if (voter != _myId && !_received.ContainsKey(voter) && !_unreachable.Contains(voter))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Handles a notification from server <paramref name="from"/> (this server's own included).</summary>
    public List<(long To, Notification Message)> OnNotification(long from, Notification n, long now)
    {
        _unreachable.Remove(from);
        var outgoing = new List<(long, Notification)>();
        if (Decision is not null)
        {
            return outgoing;
        }

        if (!_voters.Contains(from) && _nextVoters?.Contains(from) != true)
        {
            // An observer or non-voter asks who leads: answer right away.
            outgoing.Add((from, CurrentNotification));
            return outgoing;
        }

        if (!_voters.Contains(n.Leader))
        {
            return outgoing;
        }

        if (n.State == PeerState.Looking && n.ElectionEpoch < LogicalClock)
        {
            // Help a server that is behind catch up with this round.
            outgoing.Add((from, CurrentNotification));
        }

        if (_finalizeDeadline is not null)
        {
            // Waiting to finalize: only a better vote reopens the round; anything else is dropped.
            if (n.State == PeerState.Looking && IsBetter(n.Leader, n.Zxid, n.PeerEpoch, _proposedLeader, _proposedZxid, _proposedEpoch))
            {
                _finalizeDeadline = null;
            }
            else
            {
                if (n.State == PeerState.Looking && n.ElectionEpoch == LogicalClock)
                {
                    _received[from] = new Vote(n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch);
                    if (EveryVoterAnswered())
                    {
                        // The last vote to hear is in and it is no better: nothing is left to wait for.
                        DecideProposal();
                        return outgoing;
                    }
                }

                _finalizeDeadline = now + FinalizeWaitMs;
                return outgoing;
            }
        }

        switch (n.State)
        {
            case PeerState.Looking:
                OnLooking(from, n, now, outgoing);
                break;
            case PeerState.Following or PeerState.Leading:
                OnSettled(from, n);
                break;
        }

        return outgoing;
    }

    private void OnLooking(long from, Notification n, long now, List<(long, Notification)> outgoing)
    {
        if (n.ElectionEpoch > LogicalClock)
        {
            LogicalClock = n.ElectionEpoch;
            _received.Clear();
            if (IsBetter(n.Leader, n.Zxid, n.PeerEpoch, IsVoter ? _myId : long.MinValue, _initZxid, _initEpoch))
            {
                (_proposedLeader, _proposedZxid, _proposedEpoch) = (n.Leader, n.Zxid, n.PeerEpoch);
            }
            else
            {
                ProposeInitial();
            }

            outgoing.AddRange(Broadcast());
        }
        else if (n.ElectionEpoch < LogicalClock)
        {
            return;
        }
        else if (IsBetter(n.Leader, n.Zxid, n.PeerEpoch, _proposedLeader, _proposedZxid, _proposedEpoch))
        {
            (_proposedLeader, _proposedZxid, _proposedEpoch) = (n.Leader, n.Zxid, n.PeerEpoch);
            outgoing.AddRange(Broadcast());
        }

        _received[from] = new Vote(n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch);
        var proposal = new Vote(_proposedLeader, _proposedZxid, LogicalClock, _proposedEpoch);
        if (HasQuorum(_received, proposal))
        {
            if (EveryVoterAnswered())
            {
                // Every vote there is to hear is in, and none is better than this proposal.
                DecideProposal();
                return;
            }

            _finalizeDeadline = now + FinalizeWaitMs;
        }
    }

    private void OnSettled(long from, Notification n)
    {
        var vote = n.ToVote();
        if (n.ElectionEpoch == LogicalClock)
        {
            _received[from] = vote;
            if (HasQuorum(_received, vote) && LeaderIsEstablished(_received, n.Leader, n.ElectionEpoch))
            {
                JoinedEstablishedLeader = true;
                Decide(new Vote(n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch));
                return;
            }
        }

        // Servers that already follow a leader: join them once a quorum of them agrees.
        _outOfElection[from] = vote;
        if (HasQuorum(_outOfElection, vote) && LeaderIsEstablished(_outOfElection, n.Leader, n.ElectionEpoch))
        {
            LogicalClock = n.ElectionEpoch;
            JoinedEstablishedLeader = true;
            Decide(new Vote(n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch));
        }
    }

    private bool LeaderIsEstablished(Dictionary<long, Vote> votes, long leader, long electionEpoch) =>
        leader != _myId
            ? votes.TryGetValue(leader, out var leaderVote) && leaderVote.State == PeerState.Leading
            : LogicalClock == electionEpoch;

    /// <summary>As Apache's vote tracker: a quorum of the voters, and of the next voters while a reconfig is in progress.</summary>
    private bool HasQuorum(Dictionary<long, Vote> votes, Vote target) =>
        HasQuorumOf(_voters, votes, target) && (_nextVoters is not { } next || HasQuorumOf(next, votes, target));

    private static bool HasQuorumOf(IReadOnlySet<long> voters, Dictionary<long, Vote> votes, Vote target)
    {
        var agreeing = 0;
        foreach (var (sid, vote) in votes)
        {
            if (voters.Contains(sid) && vote.Agrees(target))
            {
                agreeing++;
            }
        }

        return agreeing > voters.Count / 2;
    }

    private bool IsBetter(long newId, long newZxid, long newEpoch, long currentId, long currentZxid, long currentEpoch) =>
        _voters.Contains(newId)
        && (newEpoch > currentEpoch
            || (newEpoch == currentEpoch && (newZxid > currentZxid || (newZxid == currentZxid && newId > currentId))));

    /// <summary>Decides on this server's own proposal (this round's votes, not an established leader).</summary>
    private void DecideProposal()
    {
        JoinedEstablishedLeader = false;
        Decide(new Vote(_proposedLeader, _proposedZxid, LogicalClock, _proposedEpoch));
    }

    private void Decide(Vote vote)
    {
        var state = vote.Leader == _myId ? PeerState.Leading : IsVoter ? PeerState.Following : PeerState.Observing;
        Decision = vote with { State = state };
        _finalizeDeadline = null;
    }

    private List<(long To, Notification Message)> Broadcast()
    {
        // As Apache: to the voters of both memberships while a reconfig is in progress.
        var notification = CurrentNotification;
        return [.. (_nextVoters is { } next ? _voters.Union(next) : _voters).Select(sid => (sid, notification))];
    }
}
