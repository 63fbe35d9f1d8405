using System.Diagnostics;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// The sequence that stalled a new epoch (issue 17): the leader of epoch 1 is killed; epoch 2 is led
/// by a survivor; one survivor is killed, so the other loses quorum; the first leader comes back. The
/// two must form epoch 3 and serve at once — by DIFF when the returning server is a little behind
/// (also when epoch 2 wrote nothing), by TRUNC when it logged txns no quorum committed, by SNAP when
/// it is older than the history kept. SHARPKEEPER_RESTART_REPEAT=N repeats each case N times and
/// prints the restart-to-serving times; MEMBER_KIND=Apache runs the same steps on Apache ZooKeeper.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class RestartAfterQuorumLossTests(ITestOutputHelper output)
{
    /// <summary>Well past a normal election, far below the stall, which never ended.</summary>
    private static readonly TimeSpan ServeWithin = TimeSpan.FromSeconds(20);

    public enum Behind
    {
        /// <summary>Epoch 2 commits nothing: the returning server lacks no txn, but the survivor's last zxid is epoch 2's start.</summary>
        NothingInEpochTwo,

        /// <summary>Epoch 2 commits a few txns the returning server lacks.</summary>
        ByADiff,

        /// <summary>The returning server logged a txn as leader that no quorum committed.</summary>
        ByATrunc,

        /// <summary>Epoch 2 commits more txns than the history keeps.</summary>
        ByASnap,
    }

    [Theory]
    [InlineData(Behind.NothingInEpochTwo, true)]
    [InlineData(Behind.NothingInEpochTwo, false)]
    [InlineData(Behind.ByADiff, true)]
    [InlineData(Behind.ByATrunc, false)]
    [InlineData(Behind.ByASnap, true)]
    public async Task TheReturningLeaderAndTheLastSurvivorServeAtOnce(Behind behind, bool killEpochTwoLeader)
    {
        var repeat = int.TryParse(Environment.GetEnvironmentVariable("SHARPKEEPER_RESTART_REPEAT"), out var n) ? Math.Max(1, n) : 1;
        var kind = Environment.GetEnvironmentVariable("MEMBER_KIND") == "Apache" ? MemberKind.Apache : MemberKind.SharpKeeper;
        var times = new List<long>();
        var total = Stopwatch.StartNew();
        for (var round = 0; round < repeat; round++)
        {
            times.Add(await RunOnceAsync(behind, killEpochTwoLeader, kind));
        }

        times.Sort();
        output.WriteLine(
            $"{kind}, {behind}, killed the epoch-2 {(killEpochTwoLeader ? "leader" : "follower")}: {repeat} rounds in {total.Elapsed.TotalSeconds:0} s; "
            + $"restart to serving min {times[0]} ms, median {times[times.Count / 2]} ms, max {times[^1]} ms");
    }

    /// <summary>One round on a fresh ensemble; returns the milliseconds from the restart to a served write.</summary>
    private async Task<long> RunOnceAsync(Behind behind, bool killEpochTwoLeader, MemberKind kind)
    {
        var extra = behind == Behind.ByASnap ? "commitLogCount=20" : "";
        await using var cluster = EnsembleCluster.Create([kind, kind, kind], extra);
        cluster.StartAll();
        var first = await cluster.WaitForLeaderAsync(ServeWithin);
        await using (var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString))
        {
            await client.CreateAsync("/r", [1]);
        }

        // Epoch 2: the first leader is gone.
        var survivors = cluster.Members.Where(m => m.Id != first).Select(m => m.Id).ToList();
        if (behind == Behind.ByATrunc)
        {
            await LogAnUncommittedTxnThenKillAllAsync(cluster, first);
            foreach (var id in survivors)
            {
                cluster[id].Start();
            }
        }
        else
        {
            await cluster[first].KillAsync();
        }

        var second = await cluster.WaitForLeaderAsync(ServeWithin, survivors);
        var epochTwoWrites = behind switch
        {
            Behind.ByADiff => 5,
            Behind.ByASnap => 60,
            _ => 0,
        };
        if (epochTwoWrites > 0)
        {
            await using var client = await EnsembleCluster.ConnectAsync(string.Join(",", survivors.Select(id => cluster[id].ConnectString)));
            await EnsembleTests.WriteAsync(client, "/r/e2-", epochTwoWrites, []);
        }

        // Quorum lost: only one survivor is left, and it stops serving.
        var killed = killEpochTwoLeader ? second : survivors.Single(id => id != second);
        var last = survivors.Single(id => id != killed);
        await cluster[killed].KillAsync();
        await EnsembleTests.PollAsync(async () => await cluster[last].ModeAsync() is null, "the last survivor to stop serving");

        // The first leader returns: the two form epoch 3 and serve.
        var lastLogBefore = cluster[last].Log.Length;
        var restarted = Stopwatch.StartNew();
        cluster[first].Start();
        await cluster.WaitForLeaderAsync(ServeWithin, [first, last]);
        await using (var client = await EnsembleCluster.ConnectAsync($"{cluster[first].ConnectString},{cluster[last].ConnectString}"))
        {
            await client.CreateAsync("/r/epoch3", [3]);
            var children = (await client.GetChildrenAsync("/r")).Children;
            Assert.Equal(epochTwoWrites + 1, children.Count);
        }

        var servedAfter = restarted.ElapsedMilliseconds;
        if (kind == MemberKind.SharpKeeper)
        {
            // No handshake step timed out after the restart, and the leader chose the sync expected.
            var logs = cluster[first].Log + cluster[last].Log[lastLogBefore..];
            Assert.False(logs.Contains("Cannot lead", StringComparison.Ordinal) || logs.Contains("waited ", StringComparison.Ordinal), cluster.Logs());
            var expected = behind switch
            {
                Behind.ByATrunc => "TRUNC",
                Behind.ByASnap => "SNAP",
                _ => "DIFF",
            };
            Assert.Matches($@"Synchronizing server {first} \(last zxid 0x[0-9a-f]+\) by {expected}", logs);
        }

        return servedAfter;
    }

    /// <summary>
    /// The leader logs a txn no quorum ever sees: both followers are frozen (their connections stay
    /// open, so it keeps leading until syncLimit runs out), it logs and fsyncs a write, and then all
    /// three are killed; the followers never read the proposal waiting in their sockets.
    /// </summary>
    private static async Task LogAnUncommittedTxnThenKillAllAsync(EnsembleCluster cluster, int leader)
    {
        var followers = cluster.Members.Where(m => m.Id != leader).ToList();
        await using var client = await EnsembleCluster.ConnectAsync(cluster[leader].ConnectString);
        var fsyncsBefore = await FsyncCountAsync(cluster[leader]);
        foreach (var follower in followers)
        {
            await follower.SignalAsync("STOP");
        }

        var write = client.CreateAsync("/r/uncommitted", [9]);
        await EnsembleTests.PollAsync(
            async () => await OutstandingAsync(cluster[leader]) > 0 && await FsyncCountAsync(cluster[leader]) > fsyncsBefore,
            "the leader to log the write");
        await cluster[leader].KillAsync();
        foreach (var follower in followers)
        {
            await follower.KillAsync();
        }

        // It fails once the client gives up on the dead server; nothing waits for that.
        _ = write.ContinueWith(t => t.Exception, TaskScheduler.Default);
    }

    private static async Task<long> FsyncCountAsync(EnsembleMember member) => await MonitorValueAsync(member, "zk_cnt_fsynctime");

    private static async Task<long> OutstandingAsync(EnsembleMember member) => await MonitorValueAsync(member, "zk_outstanding_requests");

    private static async Task<long> MonitorValueAsync(EnsembleMember member, string key)
    {
        var mntr = await FourLetter.SendAsync(member.ClientPort, "mntr", TimeSpan.FromSeconds(2)) ?? "";
        var line = mntr.Split('\n').FirstOrDefault(l => l.StartsWith(key + "\t", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line[(key.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
