using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Tests.Quorum.Sync;

/// <summary>The leader's discovery and sync rules on the state machine alone: quorum rendezvous, the ahead check, NEWLEADER, late joiners, time.</summary>
public sealed class LeaderSyncStateTests
{
    private const long InitLimit = 1000;
    private static readonly HashSet<long> Voters = [1, 2, 3];

    private static LeaderSync Start(long accepted = 1, long current = 1, long lastZxid = 0x1_0000_0005, long durable = 0x1_0000_0005) =>
        new(new LeaderSyncStart(3, Voters, new HashSet<long> { 1, 2, 3, 4 }, InitLimit, accepted, current, lastZxid, durable));

    /// <summary>Leading epoch 2 with server 2, synced at time 30.</summary>
    private static LeaderSync ServingWithServer2()
    {
        var sync = Start();
        sync.Start(0);
        var two = Learner(2);
        sync.LearnerInfo(two, Info(1), 10);
        sync.AckEpoch(two, AckEpoch(1, 0x1_0000_0005), 20);
        sync.NewLeaderAck(two, new QuorumPacket(PacketType.Ack, Zxid.Make(2, 0)), 30);
        Assert.Equal(LeaderPhase.Serving, sync.Phase);
        return sync;
    }

    private static PeerLink Learner(long sid) => new(sid, NullLogger.Instance) { IsFollower = Voters.Contains(sid) };

    private static QuorumPacket Info(long acceptedEpoch) => new(PacketType.FollowerInfo, Zxid.Make(acceptedEpoch, 0), new byte[20]);

    private static QuorumPacket AckEpoch(int currentEpoch, long lastZxid)
    {
        var data = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(data, currentEpoch);
        return new QuorumPacket(PacketType.AckEpoch, lastZxid, data);
    }

    [Fact]
    public void TheNewEpochIsTheLargestAcceptedPlusOneOnceAQuorumJoined()
    {
        var sync = Start(accepted: 1);
        Assert.Empty(sync.Start(0));
        var two = Learner(2);
        var effects = sync.LearnerInfo(two, Info(4), 10);
        Assert.Equal(new PersistEpoch(EpochFiles.Accepted, 5), effects[0]);
        var leaderInfo = Assert.IsType<SendToLearner>(effects[1]);
        Assert.Equal((two, PacketType.LeaderInfo, Zxid.Make(5, 0)), (leaderInfo.Learner, leaderInfo.Packet.Type, leaderInfo.Packet.Zxid));
        Assert.Equal(LeaderPhase.AcknowledgingEpoch, sync.Phase);
    }

    [Fact]
    public void AQuorumOfEpochAcksBeginsTheEpochAndSynchronizesEveryLearnerThatAcked()
    {
        var sync = Start();
        sync.Start(0);
        var two = Learner(2);
        sync.LearnerInfo(two, Info(1), 10);
        var effects = sync.AckEpoch(two, AckEpoch(1, 0x1_0000_0003), 20);
        Assert.Equal(
            [new PersistEpoch(EpochFiles.Current, 2), new BeginEpoch(2), new SynchronizeLearner(two, 0x1_0000_0003)],
            effects.Take(3));

        // This server's own log was durable already, so with server 2's acknowledgement of NEWLEADER it serves.
        effects = sync.NewLeaderAck(two, new QuorumPacket(PacketType.Ack, Zxid.Make(2, 0)), 30);
        Assert.Equal(new StartLeading(2), effects[0]);
        Assert.Equal(new SendToLearner(two, new QuorumPacket(PacketType.UpToDate, -1)), effects[1]);
        Assert.True(two.IsSynced);
        Assert.Equal(LeaderPhase.Serving, sync.Phase);
    }

    [Fact]
    public void AVoterAheadOfTheLeaderEndsTheLeadership()
    {
        var sync = Start();
        sync.Start(0);
        var two = Learner(2);
        sync.LearnerInfo(two, Info(1), 10);
        var abandon = Assert.IsType<AbandonRole>(Assert.Single(sync.AckEpoch(two, AckEpoch(1, 0x1_0000_0009), 20)));
        Assert.Contains("server 2 is ahead of the leader", abandon.Reason, StringComparison.Ordinal);
        Assert.Equal(LeaderPhase.Failed, sync.Phase);
    }

    [Fact]
    public void TheLeaderCountsTowardsNewLeaderOnlyOnceItsOwnLogIsDurable()
    {
        var sync = Start(lastZxid: 0x1_0000_0005, durable: 0x1_0000_0004);
        sync.Start(0);
        var two = Learner(2);
        sync.LearnerInfo(two, Info(1), 10);
        sync.AckEpoch(two, AckEpoch(1, 0x1_0000_0005), 20);
        Assert.Empty(sync.NewLeaderAck(two, new QuorumPacket(PacketType.Ack, Zxid.Make(2, 0)), 30));
        Assert.False(sync.OwnLogDurable);
        Assert.Equal(new StartLeading(2), sync.Durable(0x1_0000_0005, 40)[0]);
    }

    [Fact]
    public void ALearnerJoiningWhileServingIsSynchronizedAndSentUpToDateAlone()
    {
        var sync = ServingWithServer2();

        var observer = Learner(4);
        var leaderInfo = Assert.IsType<SendToLearner>(Assert.Single(sync.LearnerInfo(observer, new QuorumPacket(PacketType.ObserverInfo, 0, new byte[20]), 40)));
        Assert.Equal(PacketType.LeaderInfo, leaderInfo.Packet.Type);
        Assert.Equal(new SynchronizeLearner(observer, 0x1_0000_0002), Assert.Single(sync.AckEpoch(observer, AckEpoch(1, 0x1_0000_0002), 50)));
        Assert.Equal(new SendToLearner(observer, new QuorumPacket(PacketType.UpToDate, -1)), Assert.Single(sync.NewLeaderAck(observer, new QuorumPacket(PacketType.Ack, Zxid.Make(2, 0)), 60)));
    }

    [Fact]
    public void AServerNotInTheConfigurationOrAWrongAnswerIsDropped()
    {
        var sync = Start();
        sync.Start(0);
        var stranger = Learner(9);
        Assert.Equal(new DropLearner(stranger, "server 9 is not in the configuration"), Assert.Single(sync.LearnerInfo(stranger, Info(1), 10)));

        var two = Learner(2);
        sync.LearnerInfo(two, Info(1), 20);
        var drop = Assert.IsType<DropLearner>(Assert.Single(sync.NewLeaderAck(two, new QuorumPacket(PacketType.Ack, 0x1_0000_0001), 30)));
        Assert.Contains("answered NEWLEADER", drop.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AStepNoQuorumReachesWithinInitLimitEndsTheLeadershipNamingWhoReachedIt()
    {
        var sync = Start();
        sync.Start(0);
        Assert.Empty(sync.Tick(InitLimit));
        var abandon = Assert.IsType<AbandonRole>(Assert.Single(sync.Tick(InitLimit + 1)));
        Assert.Equal($"timed out after {InitLimit} ms waiting for a quorum to join with its epoch (FOLLOWERINFO); reached by server(s) 3 of voters 1, 2, 3", abandon.Reason);
    }

    [Fact]
    public void ALearnerThatStallsInItsHandshakeIsDroppedAndTheLeadershipGoesOn()
    {
        var sync = ServingWithServer2();

        var one = Learner(1);
        sync.LearnerInfo(one, Info(1), 100);
        var drop = Assert.IsType<DropLearner>(Assert.Single(sync.Tick(100 + InitLimit + 1)));
        Assert.Equal(one, drop.Learner);
        Assert.Contains("ACKEPOCH", drop.Reason, StringComparison.Ordinal);
        Assert.Equal(LeaderPhase.Serving, sync.Phase);
    }
}
