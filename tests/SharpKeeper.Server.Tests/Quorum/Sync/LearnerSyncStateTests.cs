using System.Buffers.Binary;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Tests.Quorum.Sync;

/// <summary>The learner's rules, step by step on the state machine alone: packets and durability in, effects out.</summary>
public sealed class LearnerSyncStateTests
{
    private const long InitLimit = 1000;
    private const long SyncLimit = 500;

    private static LearnerSync Start(long accepted = 1, long current = 1, long lastLogged = 0x1_0000_0005, long durable = 0x1_0000_0005, bool observer = false)
    {
        var sync = new LearnerSync(new LearnerSyncStart(2, observer, 0, InitLimit, SyncLimit, accepted, current, lastLogged, durable));
        var hello = Assert.IsType<SendPacket>(Assert.Single(sync.Start(0)));
        Assert.Equal(observer ? PacketType.ObserverInfo : PacketType.FollowerInfo, hello.Packet.Type);
        Assert.Equal(Zxid.Make(accepted, 0), hello.Packet.Zxid);
        return sync;
    }

    private static DecodedTxn Txn(long zxid) =>
        new(new TxnHeader(1, 1, zxid, 0, OpCode.Create), new CreateTxn("/n" + zxid, [], [], false, 1), []);

    private static QuorumPacket Proposal(long zxid) => new(PacketType.Proposal, zxid, []);

    /// <summary>To NEWLEADER by DIFF in epoch 2, with one proposal logged during the sync.</summary>
    private static LearnerSync SyncedToNewLeader(out IReadOnlyList<SyncEffect> atNewLeader)
    {
        var sync = Start();
        sync.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10);
        sync.Receive(new QuorumPacket(PacketType.Diff, 0x1_0000_0006), null, 20);
        var logged = sync.Receive(Proposal(0x1_0000_0006), Txn(0x1_0000_0006), 30);
        Assert.IsType<LogTxn>(Assert.Single(logged));
        atNewLeader = sync.Receive(new QuorumPacket(PacketType.NewLeader, Zxid.Make(2, 0)), null, 40);
        return sync;
    }

    [Fact]
    public void LeaderInfoOfANewerEpochIsAcceptedDurablyBeforeAckEpoch()
    {
        var sync = Start();
        var effects = sync.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10);
        Assert.Equal(new PersistEpoch(EpochFiles.Accepted, 2), effects[0]);
        var ack = Assert.IsType<SendPacket>(effects[1]).Packet;
        Assert.Equal((PacketType.AckEpoch, 0x1_0000_0005L, 1), (ack.Type, ack.Zxid, BinaryPrimitives.ReadInt32BigEndian(ack.Data)));
        Assert.Equal(LearnerPhase.AwaitingSync, sync.Phase);
    }

    [Fact]
    public void AnEpochAcceptedBeforeIsAnsweredWithMinusOneAndAnOlderOneEndsTheRole()
    {
        var again = Start(accepted: 2);
        var answer = Assert.IsType<SendPacket>(Assert.Single(again.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10)));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32BigEndian(answer.Packet.Data));

        var stale = Start(accepted: 3);
        var abandon = Assert.IsType<AbandonRole>(Assert.Single(stale.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10)));
        Assert.Contains("older than the accepted epoch 3", abandon.Reason, StringComparison.Ordinal);
    }

    /// <summary>ZOOKEEPER-4646 and 4643: NEWLEADER waits for the log; currentEpoch is written then, before the ACK.</summary>
    [Fact]
    public void NewLeaderIsAcknowledgedOnlyOnceEverythingBeforeItIsDurableAndAfterCurrentEpoch()
    {
        var sync = SyncedToNewLeader(out var atNewLeader);
        Assert.Empty(atNewLeader);
        Assert.Equal(LearnerPhase.AwaitingDurable, sync.Phase);

        Assert.Empty(sync.Durable(0x1_0000_0005, 50));
        var effects = sync.Durable(0x1_0000_0006, 60);
        Assert.Equal(new PersistEpoch(EpochFiles.Current, 2), effects[0]);
        Assert.Equal(new QuorumPacket(PacketType.Ack, Zxid.Make(2, 0)), Assert.IsType<SendPacket>(effects[1]).Packet);

        // The proposal logged during sync is acknowledged right after NEWLEADER, not before (ZOOKEEPER-4685).
        Assert.Equal(new QuorumPacket(PacketType.Ack, 0x1_0000_0006), Assert.IsType<SendPacket>(effects[2]).Packet);
        Assert.Equal(LearnerPhase.AwaitingUpToDate, sync.Phase);
    }

    [Fact]
    public void APingIsAnsweredOnlyOnceNewLeaderIsAcknowledged()
    {
        var sync = SyncedToNewLeader(out _);
        var ping = new QuorumPacket(PacketType.Ping, 0x1_0000_0006);
        Assert.Empty(sync.Receive(ping, null, 45));
        sync.Durable(0x1_0000_0006, 50);
        Assert.Equal(new AnswerPing(ping), Assert.Single(sync.Receive(ping, null, 55)));
    }

    [Fact]
    public void NoProposalIsAcknowledgedBeforeNewLeaderEvenWhenDurable()
    {
        var sync = Start();
        sync.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10);
        sync.Receive(new QuorumPacket(PacketType.Diff, 0x1_0000_0006), null, 20);
        sync.Receive(Proposal(0x1_0000_0006), Txn(0x1_0000_0006), 30);
        Assert.Empty(sync.Durable(0x1_0000_0006, 40));
    }

    /// <summary>ZOOKEEPER-4394: a COMMIT between NEWLEADER and UPTODATE applies what was logged; one of a txn never proposed ends the role.</summary>
    [Fact]
    public void ACommitDuringSyncAppliesALoggedTxnAndACommitOfAnUnknownTxnEndsTheRole()
    {
        var sync = SyncedToNewLeader(out _);
        sync.Durable(0x1_0000_0006, 50);
        Assert.Equal(new CommitThrough(0x1_0000_0006), Assert.Single(sync.Receive(new QuorumPacket(PacketType.Commit, 0x1_0000_0006), null, 60)));

        var abandon = Assert.IsType<AbandonRole>(Assert.Single(sync.Receive(new QuorumPacket(PacketType.Commit, 0x1_0000_0009), null, 70)));
        Assert.Contains("never proposed", abandon.Reason, StringComparison.Ordinal);
        Assert.Equal(LearnerPhase.Failed, sync.Phase);
    }

    [Fact]
    public void UpToDateStartsServingAndAcknowledgesTheEpoch()
    {
        var sync = SyncedToNewLeader(out _);
        sync.Durable(0x1_0000_0006, 50);
        var effects = sync.Receive(new QuorumPacket(PacketType.UpToDate, -1), null, 60);
        Assert.Equal(new StartFollowing(2, Zxid.Make(2, 0)), effects[0]);
        Assert.Equal(new QuorumPacket(PacketType.Ack, Zxid.Make(2, 0)), Assert.IsType<SendPacket>(effects[1]).Packet);
        Assert.True(sync.IsServing);
        Assert.Equal(60 + SyncLimit, sync.Deadline);
    }

    [Fact]
    public void SnapAndTruncAreCarriedOutByTheDriverAndResetWhatIsLogged()
    {
        var snap = Start();
        snap.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10);
        Assert.Equal(new ReceiveSnapshot(0x1_0000_0020), Assert.Single(snap.Receive(new QuorumPacket(PacketType.Snap, 0x1_0000_0020), null, 20)));
        Assert.Empty(snap.Tick(20 + 10 * InitLimit));
        snap.SnapshotInstalled(0x1_0000_0020, 5000);
        Assert.Equal(0x1_0000_0020, snap.LastLogged);
        Assert.IsType<SendPacket>(snap.Receive(new QuorumPacket(PacketType.NewLeader, Zxid.Make(2, 0)), null, 5010)[1]);

        var trunc = Start(lastLogged: 0x1_0000_0009, durable: 0x1_0000_0009);
        trunc.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10);
        Assert.Equal(new TruncateLog(0x1_0000_0005), Assert.Single(trunc.Receive(new QuorumPacket(PacketType.Trunc, 0x1_0000_0005), null, 20)));
        trunc.Truncated(0x1_0000_0005, 30);
        Assert.Equal(0x1_0000_0005, trunc.LastLogged);
    }

    [Fact]
    public void ALateLeaderEndsTheRoleAtTheDeadlineOfTheStep()
    {
        var sync = Start();
        Assert.Empty(sync.Tick(InitLimit));
        var abandon = Assert.IsType<AbandonRole>(Assert.Single(sync.Tick(InitLimit + 1)));
        Assert.Contains("waiting for LEADERINFO", abandon.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AnObserverLogsAndAppliesInformsAndAcknowledgesNoProposal()
    {
        var sync = Start(observer: true);
        sync.Receive(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), new byte[4]), null, 10);
        sync.Receive(new QuorumPacket(PacketType.Diff, 0x1_0000_0005), null, 20);
        var ack = sync.Receive(new QuorumPacket(PacketType.NewLeader, Zxid.Make(2, 0)), null, 30);
        Assert.Equal(2, ack.Count);
        sync.Receive(new QuorumPacket(PacketType.UpToDate, -1), null, 40);
        var informed = sync.Receive(new QuorumPacket(PacketType.Inform, Zxid.Make(2, 1), []), Txn(Zxid.Make(2, 1)), 50);
        Assert.IsType<LogTxn>(informed[0]);
        Assert.Equal(new CommitThrough(Zxid.Make(2, 1)), informed[1]);
        Assert.Empty(sync.Durable(Zxid.Make(2, 1), 60));
    }
}
