using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Election;
using Xunit;

namespace SharpKeeper.Server.Tests.Quorum.Election;

/// <summary>
/// When a round decides: after the finalize wait once a quorum agrees, at once when every other
/// voter has voted or cannot be reached (a failover need not wait for a dead leader's vote).
/// </summary>
public sealed class FastLeaderElectionTests
{
    private static readonly HashSet<long> Voters = [1, 2, 3];

    /// <summary>Server 2 of {1, 2, 3} after the leader (3) died: 2 has the newer zxid and 1 votes for it.</summary>
    private static FastLeaderElection RoundOnServer2(long now)
    {
        var election = new FastLeaderElection(2, Voters, "");
        election.Start(lastZxid: 0x100000005, currentEpoch: 1, now);
        election.OnNotification(2, new Notification(PeerState.Looking, 2, 0x100000005, election.LogicalClock, 1), now);
        election.OnNotification(1, new Notification(PeerState.Looking, 2, 0x100000005, election.LogicalClock, 1), now);
        return election;
    }

    [Fact]
    public void AQuorumThatAgreesWaitsForTheOtherVotersVote()
    {
        var election = RoundOnServer2(now: 1000);
        Assert.Null(election.Decision);
        election.OnTimer(1000 + FastLeaderElection.FinalizeWaitMs - 1);
        Assert.Null(election.Decision);
        election.OnTimer(1000 + FastLeaderElection.FinalizeWaitMs);
        Assert.Equal(2, election.Decision?.Leader);
        Assert.Equal(PeerState.Leading, election.DecidedState);
    }

    [Fact]
    public void AVoterThatCannotBeReachedIsNotWaitedFor()
    {
        var election = RoundOnServer2(now: 1000);
        election.PeerUnreachable(3);
        Assert.Equal(2, election.Decision?.Leader);
    }

    [Fact]
    public void AVoterKnownUnreachableBeforeTheQuorumFormsIsNotWaitedForEither()
    {
        var election = new FastLeaderElection(2, Voters, "");
        election.Start(0x100000005, 1, 1000);
        election.PeerUnreachable(3);
        election.OnNotification(2, new Notification(PeerState.Looking, 2, 0x100000005, election.LogicalClock, 1), 1000);
        Assert.Null(election.Decision);
        election.OnNotification(1, new Notification(PeerState.Looking, 2, 0x100000005, election.LogicalClock, 1), 1000);
        Assert.Equal(2, election.Decision?.Leader);
    }

    [Fact]
    public void AVoterThatSpeaksAgainIsWaitedForAgain()
    {
        var election = new FastLeaderElection(2, Voters, "");
        election.Start(0x100000005, 1, 1000);
        election.PeerUnreachable(3);
        election.PeerReachable(3);
        election.OnNotification(2, new Notification(PeerState.Looking, 2, 0x100000005, election.LogicalClock, 1), 1000);
        election.OnNotification(1, new Notification(PeerState.Looking, 2, 0x100000005, election.LogicalClock, 1), 1000);
        Assert.Null(election.Decision);
    }

    [Fact]
    public void WhenEveryVoterHasVotedTheBestProposalIsDecidedAtOnce()
    {
        var election = RoundOnServer2(now: 1000);
        Assert.Null(election.Decision);

        // Server 3 is alive with an older zxid: its vote cannot beat 2's, and nobody else is left to hear.
        election.OnNotification(3, new Notification(PeerState.Looking, 3, 0x100000004, election.LogicalClock, 1), 1000);
        Assert.Equal(2, election.Decision?.Leader);
    }

    [Fact]
    public void ABetterVoteFromTheLastVoterChangesTheProposalInstead()
    {
        var election = RoundOnServer2(now: 1000);
        election.OnNotification(3, new Notification(PeerState.Looking, 3, 0x100000006, election.LogicalClock, 1), 1000);
        Assert.Null(election.Decision);
        election.OnNotification(1, new Notification(PeerState.Looking, 3, 0x100000006, election.LogicalClock, 1), 1000);
        election.OnNotification(2, new Notification(PeerState.Looking, 3, 0x100000006, election.LogicalClock, 1), 1000);
        Assert.Equal(3, election.Decision?.Leader);
        Assert.Equal(PeerState.Following, election.DecidedState);
    }
}
