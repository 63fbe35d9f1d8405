using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// Ensembles mixing SharpKeeper and Debian's Apache ZooKeeper 3.8 processes: they elect together,
/// replicate each other's writes, and an Apache ensemble can be replaced server by server.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class MixedEnsembleTests(ITestOutputHelper output)
{
    internal static readonly TimeSpan ElectionTimeout = TimeSpan.FromSeconds(90);

    public static TheoryData<string> Mixes => ["AAS", "SSA"];

    /// <summary>
    /// With empty dataDirs the highest id leads first: "AAS" starts with a SharpKeeper leader over two
    /// Apache followers, "SSA" with an Apache leader over two SharpKeeper followers; killing that
    /// leader swaps the roles. Writes through every server are read back from every server.
    /// </summary>
    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task MixedEnsembleElectsReplicatesAndFailsOver(string mix)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        await using var cluster = EnsembleCluster.Create(kinds);
        cluster.StartAll();
        try
        {
            var (leaders, writes) = await ElectWriteAndFailOverAsync(cluster);
            output.WriteLine($"{mix}: leaders in turn: {string.Join(", ", leaders)}; {writes} writes read back from all three");
            Assert.Contains(MemberKind.SharpKeeper, leaders);
            Assert.Contains(MemberKind.Apache, leaders);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>
    /// The migration path: an Apache ensemble has each server replaced by SharpKeeper on the same
    /// dataDir and myid, one at a time, while a client keeps writing; no acknowledged write is lost.
    /// </summary>
    [Fact]
    public async Task RollingReplacementOfEveryApacheServerLosesNoAcknowledgedWrite()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var cluster = EnsembleCluster.Create([MemberKind.Apache, MemberKind.Apache, MemberKind.Apache]);
        cluster.StartAll();
        var acknowledged = new List<string>();
        try
        {
            await cluster.WaitForLeaderAsync(ElectionTimeout);
            await using var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString, TimeSpan.FromSeconds(30));
            await client.CreateAsync("/r", null);
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(async () =>
            {
                // Bounded: at most 20 000 writes, and it stops when the replacement is done.
                for (var batch = 0; batch < 200 && !stop.IsCancellationRequested; batch++)
                {
                    await EnsembleTests.WriteAsync(client, $"/r/b{batch:D3}-", 100, acknowledged);
                }
            });

            foreach (var member in cluster.Members)
            {
                await member.KillAsync();
                member.Kind = MemberKind.SharpKeeper;
                member.Start();
                await cluster.WaitForLeaderAsync(ElectionTimeout, cluster.Members.Select(m => m.Id));
                output.WriteLine($"server {member.Id} replaced by SharpKeeper; {acknowledged.Count} writes acknowledged so far");
            }

            await stop.CancelAsync();
            await writer;
            Assert.True(acknowledged.Count > 0);
            await AssertEveryServerHoldsAsync(cluster, cluster.Members.Select(m => m.Id), acknowledged, "/r");
            output.WriteLine($"all three servers are SharpKeeper and hold all {acknowledged.Count} acknowledged writes");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>A SharpKeeper observer of an Apache ensemble, and an Apache observer of a SharpKeeper one.</summary>
    [Theory]
    [InlineData(MemberKind.Apache, MemberKind.SharpKeeper)]
    [InlineData(MemberKind.SharpKeeper, MemberKind.Apache)]
    public async Task ObserverOfTheOtherKindLearnsEveryWriteAndForwardsItsOwn(MemberKind participants, MemberKind observer)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var cluster = EnsembleCluster.Create([participants, participants, participants, observer], observers: new HashSet<int> { 4 });
        cluster.StartAll();
        var acknowledged = new List<string>();
        try
        {
            await cluster.WaitForLeaderAsync(ElectionTimeout);
            await EnsembleTests.PollAsync(async () => await cluster[4].ModeAsync() == "observer", "the observer to serve");
            await using (var client = await EnsembleCluster.ConnectAsync(cluster[1].ConnectString))
            {
                await client.CreateAsync("/m", null);
            }

            await WriteThroughEachAsync(cluster, [1, 4], "o", acknowledged);
            await AssertEveryServerHoldsAsync(cluster, cluster.Members.Select(m => m.Id), acknowledged);
            output.WriteLine($"{participants} participants with a {observer} observer: {acknowledged.Count} writes read back from all four");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>
    /// The failover round every mixed-ensemble test runs on a started cluster: elect, write through
    /// every server, (an optional look at the serving ensemble,) kill the leader, elect again and write
    /// through the survivors, bring the old leader back and write through all; every acknowledged
    /// write is read back from every server. Returns the kinds that led, in turn, and the writes.
    /// </summary>
    internal static async Task<(List<MemberKind> Leaders, int Writes)> ElectWriteAndFailOverAsync(EnsembleCluster cluster, Func<int, Task>? whileServing = null)
    {
        var acknowledged = new List<string>();
        var leaders = new List<MemberKind>();
        var all = cluster.Members.Select(m => m.Id).ToList();
        var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);
        leaders.Add(cluster[leader].Kind);
        await using (var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString))
        {
            await client.CreateAsync("/m", null);
        }

        await WriteThroughEachAsync(cluster, all, "x", acknowledged);
        await AssertEveryServerHoldsAsync(cluster, all, acknowledged);
        if (whileServing is not null)
        {
            await whileServing(leader);
        }

        await cluster[leader].KillAsync();
        var survivors = cluster.Members.Where(m => m.IsRunning).Select(m => m.Id).ToList();
        var next = await cluster.WaitForLeaderAsync(ElectionTimeout, survivors);
        leaders.Add(cluster[next].Kind);
        await WriteThroughEachAsync(cluster, survivors, "y", acknowledged);

        cluster[leader].Start();
        await cluster.WaitForLeaderAsync(ElectionTimeout, all);
        await WriteThroughEachAsync(cluster, all, "z", acknowledged);
        await AssertEveryServerHoldsAsync(cluster, all, acknowledged);
        return (leaders, acknowledged.Count);
    }

    internal static async Task WriteThroughEachAsync(EnsembleCluster cluster, IEnumerable<int> ids, string tag, List<string> acknowledged)
    {
        foreach (var id in ids)
        {
            await using var client = await EnsembleCluster.ConnectAsync(cluster[id].ConnectString);
            await EnsembleTests.WriteAsync(client, $"/m/{tag}{id}-", 50, acknowledged);
        }
    }

    internal static async Task AssertEveryServerHoldsAsync(EnsembleCluster cluster, IEnumerable<int> ids, List<string> acknowledged, string path = "/m")
    {
        List<string> expected;
        lock (acknowledged)
        {
            expected = [.. acknowledged.Order()];
        }

        foreach (var id in ids)
        {
            var children = await cluster.ChildrenOnAsync(id, path);

            // Every acknowledged write is there (a last write whose reply was lost may be there too).
            Assert.Empty(expected.Except(children));
        }
    }
}
