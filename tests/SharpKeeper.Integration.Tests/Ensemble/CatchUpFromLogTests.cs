using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// A follower down while more writes commit than any server keeps in memory (commitLogCount), and
/// the leader restarted meanwhile (a new election, a new epoch): when the follower returns, the
/// leader sends it a DIFF read from its txn log files, not the whole tree (SNAP), because the
/// missing txns are a small fraction of the snapshot (snapshotSizeFactor).
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class CatchUpFromLogTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AFollowerBehindALeaderRestartGetsADiffFromTheTxnLog()
    {
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.SharpKeeper, MemberKind.SharpKeeper], "commitLogCount=50\nsnapCount=100");
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout);
            var behind = cluster.Members.First(m => m.Id != leader).Id;
            await using (var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString))
            {
                // A tree far larger than the writes the follower will miss.
                var payload = new byte[4096];
                await client.CreateAsync("/tree", []);
                await Task.WhenAll(Enumerable.Range(0, 300).Select(i => client.CreateAsync($"/tree/n{i:D3}", payload)));
            }

            await cluster[behind].KillAsync();
            var others = cluster.Members.Where(m => m.Id != behind).Select(m => m.Id).ToList();
            await using (var client = await EnsembleCluster.ConnectAsync(string.Join(",", others.Select(id => cluster[id].ConnectString))))
            {
                await Task.WhenAll(Enumerable.Range(0, 200).Select(i => client.CreateAsync($"/missed{i:D3}", [1])));
            }

            // The leader restarts: the two survivors elect again (epoch 3).
            await cluster[leader].KillAsync();
            cluster[leader].Start();
            var newLeader = await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout, others);

            cluster[behind].Start();
            await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout);
            await using (var client = await EnsembleCluster.ConnectAsync(cluster[behind].ConnectString))
            {
                await client.SyncAsync("/");
                Assert.NotNull(await client.ExistsAsync("/missed199"));
            }

            var line = cluster[newLeader].Log.Split('\n').LastOrDefault(l => l.Contains($"Synchronizing server {behind} ", StringComparison.Ordinal));
            Assert.True(line is not null, "no sync line for the returning follower");
            output.WriteLine(line);
            Assert.Contains("by DIFF from", line, StringComparison.Ordinal);
            Assert.Contains("from the txn log", line, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
