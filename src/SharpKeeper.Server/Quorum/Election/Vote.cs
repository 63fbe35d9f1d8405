namespace SharpKeeper.Server.Quorum.Election;

/// <summary>A server's state as election notifications carry it, numbered as Apache ZooKeeper's ServerState.</summary>
public enum PeerState
{
    Looking = 0,
    Following = 1,
    Leading = 2,
    Observing = 3,
}

/// <summary>A vote for a leader: who, with what last zxid and epoch, in which election round.</summary>
public sealed record Vote(long Leader, long Zxid, long ElectionEpoch, long PeerEpoch, PeerState State = PeerState.Looking)
{
    /// <summary>
    /// As FastLeaderElection compares votes: in a round still looking, every field must agree; once
    /// servers have settled (following or leading), the leader and its epoch are what matter.
    /// </summary>
    public bool Agrees(Vote other) =>
        State == PeerState.Looking || other.State == PeerState.Looking
            ? Leader == other.Leader && Zxid == other.Zxid && ElectionEpoch == other.ElectionEpoch && PeerEpoch == other.PeerEpoch
            : Leader == other.Leader && PeerEpoch == other.PeerEpoch;
}
