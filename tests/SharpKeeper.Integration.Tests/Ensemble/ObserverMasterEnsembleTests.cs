using System.Globalization;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// observerMasterPort: the follower serves the observer, which connects to that port of a voter
/// rather than to the leader (Apache's ObserverMaster). Two voters and an observer on one host, as
/// Apache's own test has them (only the follower listens on the port), each kind as follower and
/// as observer: the observer syncs from the follower, learns every txn from it, and its clients'
/// writes, syncs, session pings and revalidations reach the leader through it.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class ObserverMasterEnsembleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Mixes => ["SSS", "AAS", "SSA", "SAS", "SAA", "ASA"];

    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task TheObserverLearnsThroughTheFollower(string mix)
    {
        var observerMasterPort = FreePort.Pick();
        await using var cluster = EnsembleCluster.Create(
            ReconfigEnsembleTests.KindsOf(mix), $"observerMasterPort={observerMasterPort}", observers: new HashSet<int> { 3 });
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60), [1, 2]);
            var follower = 3 - leader;
            await EnsembleTests.PollAsync(async () => await cluster[3].ModeAsync() == "observer", "server 3 to observe");
            output.WriteLine($"{mix}: server {leader} ({cluster[leader].Kind}) leads, server {follower} ({cluster[follower].Kind}) serves observer 3 ({cluster[3].Kind})");

            // The follower, not the leader, holds the observer.
            await EnsembleTests.PollAsync(
                async () => (await FourLetter.SendAsync(cluster[follower].ClientPort, "mntr") ?? "").Contains("zk_synced_observers\t1\n", StringComparison.Ordinal),
                $"follower {follower} to report one synced observer");
            Assert.Contains("zk_synced_observers\t0\n", await FourLetter.SendAsync(cluster[leader].ClientPort, "mntr"));

            // Writes through the observer go by the follower to the leader; the leader's come back by INFORM.
            var sessionTimeout = TimeSpan.FromSeconds(4);
            await using var onObserver = await EnsembleCluster.ConnectAsync(cluster[3].ConnectString, sessionTimeout);
            await using var onLeader = await EnsembleCluster.ConnectAsync(cluster[leader].ConnectString);
            await onObserver.CreateAsync("/through-observer", [1], CreateMode.Persistent);
            await onObserver.CreateAsync("/observer-ephemeral", [], CreateMode.Ephemeral);
            await onLeader.SyncAsync("/through-observer");
            Assert.Equal([1], (await onLeader.GetDataAsync("/through-observer")).Data);
            await onLeader.CreateAsync("/from-leader", [2], CreateMode.Persistent);
            await onObserver.SyncAsync("/from-leader");
            Assert.Equal([2], (await onObserver.GetDataAsync("/from-leader")).Data);

            // The observer's session lives on its pings, relayed to the leader by the follower: idle
            // for twice its timeout, its ephemeral is still there.
            var idleUntil = DateTime.UtcNow + 2 * sessionTimeout;
            while (DateTime.UtcNow < idleUntil)
            {
                Assert.NotNull(await onLeader.ExistsAsync("/observer-ephemeral"));
                await onLeader.SetDataAsync("/from-leader", [3]);
            }

            Assert.NotNull(await onLeader.ExistsAsync("/observer-ephemeral"));

            // Restarted, the observer syncs from the follower again; a client's session (long enough
            // to outlive the restart) is revalidated through the follower when it reconnects.
            await using var lasting = await EnsembleCluster.ConnectAsync(cluster[3].ConnectString, TimeSpan.FromSeconds(30));
            await lasting.CreateAsync("/lasting-ephemeral", [], CreateMode.Ephemeral);
            await cluster[3].KillAsync();
            await onLeader.CreateAsync("/while-observer-down", [4], CreateMode.Persistent);
            cluster[3].Start();
            await EnsembleTests.PollAsync(async () => await cluster[3].ModeAsync() == "observer", "server 3 to observe again");
            await lasting.SyncAsync("/while-observer-down");
            Assert.Equal([4], (await lasting.GetDataAsync("/while-observer-down")).Data);
            await lasting.SetDataAsync("/through-observer", [5]);
            Assert.NotNull(await onLeader.ExistsAsync("/lasting-ephemeral"));
            await onLeader.SyncAsync("/through-observer");
            Assert.Equal([5], (await onLeader.GetDataAsync("/through-observer")).Data);

            output.WriteLine(await FourLetter.SendAsync(cluster[follower].ClientPort, "mntr") ?? "");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
