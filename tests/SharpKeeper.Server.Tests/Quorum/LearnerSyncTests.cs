using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Reconfig;
using SharpKeeper.Server.Tests.Core;

namespace SharpKeeper.Server.Tests.Quorum;

/// <summary>
/// How a leader brings a learner up to date, and the durability wait around NEWLEADER, on a real
/// core: the regression behind a restarted follower stalling a new epoch (issue 17), and the
/// DIFF/TRUNC/SNAP choice from the committed history the core keeps across roles.
/// </summary>
public sealed class LearnerSyncTests
{
    private static readonly CoreOptions Options = CoreHarness.DefaultOptions with { CommitLogCount = 100 };

    /// <summary>
    /// An epoch in which nothing was written leaves the tree at that epoch's start zxid, which is no
    /// txn and is never logged: the next NEWLEADER must not wait for it to become durable (it waited
    /// until initLimit, then the ensemble re-elected and waited again, forever).
    /// </summary>
    [Fact]
    public void AnEmptyEpochsStartNeedsNoFsync()
    {
        var h = new CoreHarness(Options);
        var leader = Lead(h, epoch: 1);
        h.MustCreate(h.Connect(), "/a");
        var lastTxn = h.Core.LastLoggedZxid;
        Assert.True(h.Core.IsDurableThrough(lastTxn));

        // Epoch 2 leads and ends with no txn; the core counts 0x200000000 as processed.
        h.Core.StepDown();
        h.Core.TakeRole(leader, Zxid.Make(2, 1), Zxid.Make(2, 0));
        h.Core.StepDown();
        Assert.Equal(Zxid.Make(2, 0), h.Core.LastLoggedZxid);
        Assert.True(h.Core.WaitDurableAsync(h.Core.LastLoggedZxid).IsCompleted);

        // A txn appended after it is waited for until the log syncs it.
        h.Core.TakeRole(leader, Zxid.Make(3, 1), Zxid.Make(3, 0));
        h.Send(h.Connect(), Protocol.OpCode.Create, Req.Create("/b"));
        var wait = h.Core.WaitDurableAsync(h.Core.LastLoggedZxid);
        Assert.False(wait.IsCompleted);
        h.Sync();
        Assert.True(wait.IsCompleted);
    }

    [Fact]
    public void AFollowerWhoseLastTxnIsInTheHistoryGetsADiffAlsoWhenThisEpochHasNoTxnYet()
    {
        var h = new CoreHarness(Options);
        Lead(h, epoch: 1);
        var client = h.Connect();
        h.MustCreate(client, "/a");
        var peerLast = h.Core.LastLoggedZxid;
        h.MustCreate(client, "/b");
        h.MustCreate(client, "/c");

        // Epoch 2 writes nothing; epoch 3's leader syncs a follower that missed /b and /c.
        h.Core.StepDown();
        Lead(h, epoch: 2);
        h.Core.StepDown();
        var replication = NewLeader(h, epoch: 3);
        var learner = new PeerLink(2, NullLogger.Instance);
        var kind = replication.AddLearner(learner, peerLast);

        Assert.StartsWith($"DIFF from 0x{peerLast:x}", kind);
        Assert.Equal(
            [PacketType.Diff, PacketType.Proposal, PacketType.Commit, PacketType.Proposal, PacketType.Commit, PacketType.NewLeader],
            Packets(learner).Select(p => p.Type));
    }

    [Fact]
    public void AFollowerAtAnEpochStartGetsTheTxnsAfterIt()
    {
        var h = EpochOneWroteOneNode();
        Lead(h, epoch: 2);
        h.MustCreate(h.Connect(), "/b");
        h.Core.StepDown();

        var replication = NewLeader(h, epoch: 3);
        var learner = new PeerLink(2, NullLogger.Instance);
        // The session's txn and /b.
        Assert.StartsWith($"DIFF from 0x{Zxid.Make(2, 0):x} (2 txns)", replication.AddLearner(learner, Zxid.Make(2, 0)));
        Assert.Equal([Zxid.Make(2, 1), Zxid.Make(2, 2)], Packets(learner).Where(p => p.Type == PacketType.Proposal).Select(p => p.Zxid));
    }

    [Fact]
    public void UncommittedTxnsAreCutOffThenTheRestIsSent()
    {
        var h = new CoreHarness(Options);
        Lead(h, epoch: 1);
        h.MustCreate(h.Connect(), "/a");
        var shared = h.Core.LastLoggedZxid;
        h.Core.StepDown();
        Lead(h, epoch: 2);
        h.MustCreate(h.Connect(), "/b");
        h.Core.StepDown();

        // The learner led epoch 1 and logged two txns after /a that no quorum committed.
        var replication = NewLeader(h, epoch: 3);
        var learner = new PeerLink(2, NullLogger.Instance);
        var kind = replication.AddLearner(learner, shared + 2);
        Assert.StartsWith($"TRUNC to 0x{shared:x}, then DIFF", kind);
        var packets = Packets(learner);
        Assert.Equal((PacketType.Trunc, shared), (packets[0].Type, packets[0].Zxid));
        Assert.Equal([Zxid.Make(2, 1), Zxid.Make(2, 2)], packets.Where(p => p.Type == PacketType.Proposal).Select(p => p.Zxid));
    }

    [Fact]
    public void AFollowerOlderThanTheHistoryGetsASnapshotAndTheReasonIsLogged()
    {
        var (h, first) = HistoryShorterThanEpochOne();
        var replication = NewLeader(h, epoch: 2);
        var learner = new PeerLink(2, NullLogger.Instance);
        var kind = replication.AddLearner(learner, first);
        Assert.StartsWith("SNAP at", kind);
        Assert.Contains("older than the committed history", kind);
        Assert.Equal(PacketType.Snap, Packets(learner).First().Type);
    }

    [Fact]
    public void AFollowerOlderThanTheHistoryGetsADiffFromTheTxnLogWhenItReachesTheHistory()
    {
        var (h, first) = HistoryShorterThanEpochOne();
        var history = h.Core.Committed;
        var logged = Enumerable.Range(1, (int)(history.Base - first)).Select(i => (first + i, new byte[] { 1 })).ToList();

        var replication = NewLeader(h, epoch: 2);
        var learner = new PeerLink(2, NullLogger.Instance);
        var kind = replication.AddLearner(learner, first, new LoggedTxns(history.Base, logged, logged.Count, "test"));
        Assert.StartsWith($"DIFF from 0x{first:x} ({logged.Count} txns, {logged.Count} bytes, from the txn log, test; 2 from memory)", kind);
        var packets = Packets(learner);
        Assert.Equal(PacketType.Diff, packets[0].Type);
        Assert.Equal(
            Enumerable.Range(1, (int)(history.LastZxid - first)).Select(i => first + i),
            packets.Where(p => p.Type == PacketType.Proposal).Select(p => p.Zxid));

        // Log txns that stop short of the history (it moved on while they were read) are no use.
        var late = new PeerLink(3, NullLogger.Instance);
        Assert.Contains("moved on while the txn log was read", replication.AddLearner(late, first, new LoggedTxns(history.Base - 1, logged.SkipLast(1).ToList(), 0, "test")));
        Assert.Equal(PacketType.Snap, Packets(late).First().Type);
    }

    [Fact]
    public void TheHistorySurvivesARoleChangeAndASnapshotInstallResetsIt()
    {
        var h = EpochOneWroteOneNode();

        // The session's txn and the create, still there in the next role.
        Assert.Equal(2, h.Core.Committed.Count);
        Assert.Equal(Zxid.Make(1, 2), h.Core.Committed.LastZxid);

        var tree = new SharpKeeper.Server.Data.DataTree { LastProcessedZxid = Zxid.Make(5, 7) };
        h.Core.ReplaceTree(tree, new Dictionary<long, int>());
        Assert.Equal(0, h.Core.Committed.Count);
        Assert.Equal(Zxid.Make(5, 7), h.Core.Committed.Base);
    }

    /// <summary>Epoch 1 wrote a session and /a, and its leader stepped down.</summary>
    private static CoreHarness EpochOneWroteOneNode()
    {
        var h = new CoreHarness(Options);
        Lead(h, epoch: 1);
        h.MustCreate(h.Connect(), "/a");
        h.Core.StepDown();
        return h;
    }

    /// <summary>Epoch 1 wrote a session and five nodes, but the history keeps only the last two txns; returns the session's zxid.</summary>
    private static (CoreHarness Harness, long FirstZxid) HistoryShorterThanEpochOne()
    {
        var h = new CoreHarness(Options with { CommitLogCount = 2 });
        Lead(h, epoch: 1);
        var client = h.Connect();
        var first = h.Core.LastLoggedZxid;
        for (var i = 0; i < 5; i++)
        {
            h.MustCreate(client, $"/n{i}");
        }

        h.Core.StepDown();
        return (h, first);
    }

    /// <summary>A single-voter leader of <paramref name="epoch"/>: its writes commit as soon as they are durable.</summary>
    private static LeaderReplication Lead(CoreHarness h, long epoch)
    {
        var replication = NewLeader(h, epoch, voters: 1);
        h.Core.TakeRole(replication, Zxid.Make(epoch, 1), Zxid.Make(epoch, 0));
        return replication;
    }

    private static LeaderReplication NewLeader(CoreHarness h, long epoch, int voters = 3) =>
        new(h.Core, 1, QuorumMembership.ForVoters(Enumerable.Range(1, voters).Select(i => (long)i)), ReconfigSettings.Disabled, epoch, 2000, 5, NullLogger.Instance);

    private static List<QuorumPacket> Packets(PeerLink link)
    {
        var packets = new List<QuorumPacket>();
        while (link.TryTake(out var item))
        {
            if (item is QuorumPacket packet)
            {
                packets.Add(packet);
            }
        }

        return packets;
    }
}
