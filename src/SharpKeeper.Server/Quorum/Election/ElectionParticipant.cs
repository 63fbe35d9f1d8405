namespace SharpKeeper.Server.Quorum.Election;

/// <summary>
/// Everything a server does on the election port, as a deterministic state machine: while looking
/// it runs a <see cref="FastLeaderElection"/> round; once settled (leading or following) it answers
/// each looking server with the vote it settled on, so a restarted server learns who leads. Fed
/// notifications and clock readings; answers with notifications to send.
/// </summary>
public sealed class ElectionParticipant(long myId, IReadOnlySet<long> voters, string config)
{
    private readonly FastLeaderElection _election = new(myId, voters, config);

    /// <summary>A committed reconfig: the voters and the membership text notifications carry.</summary>
    public void UpdateView(IReadOnlySet<long> newVoters, string newConfig, IReadOnlySet<long>? nextVoters = null) =>
        _election.UpdateView(newVoters, newConfig, nextVoters);

    public long MyId => myId;

    public bool IsLooking { get; private set; }

    public PeerState State { get; private set; } = PeerState.Looking;

    /// <summary>The vote this server reports: its proposal while looking, the decision once settled.</summary>
    public Vote? CurrentVote { get; private set; }

    public long LogicalClock => _election.LogicalClock;

    /// <summary>Whether the last decision joined servers already following a leader (rather than this round's votes).</summary>
    public bool JoinedEstablishedLeader => _election.JoinedEstablishedLeader;

    /// <summary>When <see cref="OnTimer"/> next has work to do while looking.</summary>
    public long NextDeadline => _election.NextDeadline;

    public List<(long To, Notification Message)> StartLooking(long lastZxid, long currentEpoch, long now)
    {
        IsLooking = true;
        State = PeerState.Looking;
        var outgoing = _election.Start(lastZxid, currentEpoch, now);
        CurrentVote = new Vote(myId, lastZxid, _election.LogicalClock, currentEpoch);
        return outgoing;
    }

    /// <summary>The decided vote once the round ended (null while still looking).</summary>
    public Vote? TakeDecision()
    {
        if (!IsLooking || _election.Decision is not { } decision)
        {
            return null;
        }

        IsLooking = false;
        State = decision.State;
        CurrentVote = decision;
        return decision;
    }

    public List<(long To, Notification Message)> OnNotification(long from, Notification notification, long now)
    {
        if (IsLooking)
        {
            return _election.OnNotification(from, notification, now);
        }

        // Settled: tell a looking server what this one settled on.
        if (notification.State == PeerState.Looking && CurrentVote is { } current && from != myId)
        {
            return [(from, new Notification(State, current.Leader, current.Zxid, current.ElectionEpoch, current.PeerEpoch, _election.Config))];
        }

        return [];
    }

    public List<(long To, Notification Message)> OnTimer(long now) => IsLooking ? _election.OnTimer(now) : [];

    /// <summary>The channel could not connect to <paramref name="sid"/>; see <see cref="FastLeaderElection.PeerUnreachable"/>.</summary>
    public void PeerUnreachable(long sid) => _election.PeerUnreachable(sid);

    public void PeerReachable(long sid) => _election.PeerReachable(sid);

    /// <summary>
    /// As Apache's updateVote after a reconfig named the leader: settled on that leader without an
    /// election, so looking servers are told of it.
    /// </summary>
    public void Settle(long leader, long zxid, long peerEpoch, PeerState state)
    {
        IsLooking = false;
        State = state;
        CurrentVote = new Vote(leader, zxid, _election.LogicalClock, peerEpoch, state);
    }

    /// <summary>The role that follows the election, or looking again once it ended.</summary>
    public void SetState(PeerState state)
    {
        State = state;
        if (CurrentVote is not null)
        {
            CurrentVote = CurrentVote with { State = state };
        }
    }

    /// <summary>Once settled, the epoch established with the leader (joining servers compare it).</summary>
    public void UpdatePeerEpoch(long epoch)
    {
        if (CurrentVote is not null)
        {
            CurrentVote = CurrentVote with { PeerEpoch = epoch };
        }
    }
}
