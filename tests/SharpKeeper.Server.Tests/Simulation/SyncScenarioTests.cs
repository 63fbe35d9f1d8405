using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Sync;
using Xunit.Abstractions;

namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>
/// Scripted faults in the sync phase, on the production state machines in the simulator: a crash
/// in the middle of a SNAP, between NEWLEADER and UPTODATE, the TRUNC of an uncommitted tail held
/// by a server that led an older epoch, and Apache ZooKeeper's learner-sync bugs as named
/// scenarios. Each runs over several seeds (the seed changes link and disk delays).
/// </summary>
public sealed class SyncScenarioTests(ITestOutputHelper output)
{
    private const long InitLimit = ZabSimulator.InitLimitMs;

    public static TheoryData<int> Seeds() => [1, 2, 3, 4, 5, 6, 7, 8];

    /// <summary>Server 2, far behind, gets a SNAP and crashes before the snapshot is installed; it comes back and catches up.</summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void CrashInTheMiddleOfASnap(int seed) => Run(seed, simulator =>
    {
        var leader = StartWithLeader(simulator);
        var behind = Other(leader, 0);
        simulator.Crash(behind);
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(simulator.Write($"/snap{i}", InitLimit));
        }

        simulator.Restart(behind);
        Assert.True(simulator.RunUntil(() => simulator.LearnerPhaseOf(behind) == LearnerPhase.ReceivingSnapshot, 2 * InitLimit), "no SNAP began");
        simulator.Crash(behind);

        simulator.Restart(behind);
        Assert.True(simulator.RunUntil(() => simulator.Follows(behind, leader), 2 * InitLimit), $"server {behind} never caught up after its crash mid-SNAP");
        Assert.NotNull(simulator.Write("/after", InitLimit));
        simulator.CheckConverged();
    });

    /// <summary>
    /// ZOOKEEPER-3911, 4643 and 4646: a learner synced by DIFF crashes (losing what its disk had not
    /// synced) while it makes its log durable for NEWLEADER, or after acknowledging it and before
    /// UPTODATE. Whatever it acknowledged is on its disk, and currentEpoch never names the new epoch
    /// on a disk that lacks what was received before NEWLEADER.
    /// </summary>
    [Theory]
    [MemberData(nameof(CrashPhases))]
    public void CrashAroundNewLeaderKeepsWhatWasAcknowledged(int seed, LearnerPhase crashIn) => Run(seed, simulator =>
    {
        var leader = StartWithLeader(simulator);
        var behind = Other(leader, 0);
        simulator.Crash(behind);
        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull(simulator.Write($"/diff{i}", InitLimit));
        }

        // A new epoch begins without it, so its sync also moves its currentEpoch.
        var epochBefore = simulator.CurrentEpochOnDisk(behind);
        simulator.Crash(leader);
        simulator.Restart(leader);
        Assert.True(simulator.RunUntil(() => simulator.ServingLeader is not null, 4 * InitLimit), "no leader in a new epoch");
        var current = simulator.ServingLeader!.Value;
        var epoch = simulator.EpochOf(current);
        Assert.True(epoch > epochBefore);

        simulator.Restart(behind);
        Assert.True(simulator.RunUntil(() => simulator.LearnerPhaseOf(behind) == crashIn, 2 * InitLimit), $"server {behind} never reached {crashIn}");
        var received = simulator.LearnerLastLogged(behind);
        simulator.Crash(behind);
        if (crashIn == LearnerPhase.AwaitingUpToDate)
        {
            Assert.True(simulator.LastZxidOnDisk(behind) >= received, $"server {behind} acknowledged NEWLEADER with 0x{received:x} received but its disk holds through 0x{simulator.LastZxidOnDisk(behind):x} (ZOOKEEPER-4646)");
        }

        if (simulator.CurrentEpochOnDisk(behind) == epoch)
        {
            Assert.True(simulator.LastZxidOnDisk(behind) >= received, $"server {behind} wrote currentEpoch {epoch} before its log held 0x{received:x} (ZOOKEEPER-4643)");
        }

        // The leader dies too: the two others elect and every acknowledged write survives.
        simulator.Crash(current);
        simulator.Restart(behind);
        Assert.True(simulator.RunUntil(() => simulator.ServingLeader is { } next && next != current, 4 * InitLimit), "no new leader");
        simulator.Restart(current);
        Assert.True(simulator.RunUntil(() => simulator.ServingLeader is { } next && simulator.Follows(current, next) && simulator.Follows(behind == next ? Other(next, 0) == current ? Other(next, 1) : Other(next, 0) : behind, next), 4 * InitLimit), "the ensemble never came back whole");
        simulator.CheckConverged();
    });

    public static TheoryData<int, LearnerPhase> CrashPhases()
    {
        var data = new TheoryData<int, LearnerPhase>();
        for (var seed = 1; seed <= 8; seed++)
        {
            data.Add(seed, LearnerPhase.AwaitingDurable);
            data.Add(seed, LearnerPhase.AwaitingUpToDate);
        }

        return data;
    }

    /// <summary>
    /// A leader cut off from its followers logs a txn no quorum ever acknowledges and crashes; the
    /// others lead a new epoch and commit more. The old leader comes back as a follower: its tail is
    /// truncated (TRUNC), the txn is nowhere, and everything acknowledged is everywhere.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void AFollowerThatLedAnOlderEpochHasItsUncommittedTailTruncated(int seed) => Run(seed, simulator =>
    {
        var leader = StartWithLeader(simulator);
        Assert.NotNull(simulator.Write("/before", InitLimit));
        var session = simulator.OpenSession(leader, InitLimit) ?? throw new InvalidOperationException("no session on the leader");
        var before = simulator.LastZxidOnDisk(leader);
        simulator.Partition(leader);
        simulator.SendCreate(session, "/uncommitted");
        Assert.True(simulator.RunUntil(() => simulator.LastZxidOnDisk(leader) > before, InitLimit), "the leader never logged the txn");
        simulator.Crash(leader);
        simulator.HealPartition();

        Assert.True(simulator.RunUntil(() => simulator.ServingLeader is { } next && next != leader, 4 * InitLimit), "the others never elected a leader");
        Assert.NotNull(simulator.Write("/after", InitLimit));
        simulator.Restart(leader);
        Assert.True(simulator.RunUntil(() => simulator.ServingLeader is { } next && simulator.Follows(leader, next), 4 * InitLimit), "the old leader never rejoined");
        Assert.Contains(simulator.Trace, line => line.Contains($"syncs {leader} ", StringComparison.Ordinal) && line.Contains("TRUNC", StringComparison.Ordinal));
        Assert.Null(simulator.Acknowledged("/uncommitted"));
        Assert.False(simulator.Holds(leader, "/uncommitted"), "the uncommitted txn survived on the server that logged it");
        simulator.CheckConverged();
    });

    /// <summary>
    /// ZOOKEEPER-4394 and 4685: a write is in flight while a learner syncs, so the learner gets its
    /// PROPOSAL during the sync and its COMMIT around NEWLEADER and UPTODATE. The learner logs and
    /// applies it, acknowledges no proposal before NEWLEADER (a leader drops a learner that does),
    /// and is never dropped or stopped.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void AProposalInFlightDuringSyncIsLoggedAndCommitted(int seed) => Run(seed, simulator =>
    {
        var leader = StartWithLeader(simulator);
        var behind = Other(leader, 0);
        simulator.Crash(behind);
        Assert.NotNull(simulator.Write("/while-down", InitLimit));
        var session = simulator.OpenSession(leader, InitLimit) ?? throw new InvalidOperationException("no session on the leader");

        simulator.Restart(behind);
        Assert.True(simulator.RunUntil(() => simulator.LearnerPhaseOf(behind) == LearnerPhase.AwaitingSync, 2 * InitLimit), "no ACKEPOCH");
        simulator.SendCreate(session, "/in-flight");
        Assert.True(simulator.RunUntil(() => simulator.Follows(behind, leader) && simulator.Acknowledged("/in-flight") is not null, InitLimit), $"server {behind} did not sync with a write in flight");
        Assert.Equal(0, simulator.DroppedLearners);
        Assert.DoesNotContain(simulator.Trace, line => line.Contains($"server {behind} stops following", StringComparison.Ordinal));
        Assert.NotNull(simulator.Write("/after", InitLimit));
        Assert.True(simulator.RunUntil(() => simulator.Holds(behind, "/after"), InitLimit));
        Assert.True(simulator.Holds(behind, "/in-flight"), $"server {behind} lacks the write that was in flight during its sync");
        simulator.CheckConverged();
    });

    /// <summary>
    /// A learner whose disk is slow waits long for its log before acknowledging NEWLEADER, while the
    /// leader keeps pinging it: it must not answer those PINGs first, since the leader reads the
    /// learner's next packet as the acknowledgement and drops a learner that sends anything else.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void ALearnerWithASlowDiskAnswersNoPingBeforeAcknowledgingNewLeader(int seed) => Run(seed, simulator =>
    {
        var leader = StartWithLeader(simulator);
        var behind = Other(leader, 0);
        simulator.Crash(behind);
        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull(simulator.Write($"/slow{i}", InitLimit));
        }

        simulator.SetDiskDelay(behind, 1500);
        simulator.Restart(behind);
        Assert.True(simulator.RunUntil(() => simulator.LearnerPhaseOf(behind) == LearnerPhase.AwaitingDurable, 2 * InitLimit), "no wait for the slow disk");
        Assert.True(simulator.RunUntil(() => simulator.Follows(behind, leader), InitLimit), $"server {behind} never followed after its slow NEWLEADER");
        Assert.Equal(0, simulator.DroppedLearners);
        simulator.CheckConverged();
    });

    private static long StartWithLeader(ZabSimulator simulator)
    {
        simulator.Start();
        Assert.True(simulator.RunUntil(() => simulator.ServingLeader is { } l && simulator.Follows(Other(l, 0), l) && simulator.Follows(Other(l, 1), l), 4 * InitLimit), "no leader with two followers");
        return simulator.ServingLeader!.Value;
    }

    /// <summary>The <paramref name="index"/>th server of three other than <paramref name="leader"/>.</summary>
    private static long Other(long leader, int index) => new long[] { 1, 2, 3 }.Where(id => id != leader).ElementAt(index);

    private void Run(int seed, Action<ZabSimulator> scenario)
    {
        var simulator = new ZabSimulator(seed, 3);
        try
        {
            scenario(simulator);
        }
        catch (Exception)
        {
            output.WriteLine(string.Join("\n", simulator.Trace));
            throw;
        }
    }
}
