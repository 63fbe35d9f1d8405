using System.Diagnostics;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>Ensembles of real SharpKeeper processes on loopback: roles, failover, loss and return of quorum, catching up.</summary>
[Collection(EnsembleCollection.Name)]
public sealed class EnsembleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromSeconds(60);

    private static MemberKind[] SharpKeepers(int count) => [.. Enumerable.Repeat(MemberKind.SharpKeeper, count)];

    [Fact]
    public async Task ThreeServersElectOneLeaderFailOverLoseQuorumAndResumeWithEveryWrite()
    {
        await using var cluster = EnsembleCluster.Create(SharpKeepers(3));
        cluster.StartAll();
        var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);

        // `sharpkeeper status` reports the roles as zkServer.sh does.
        var statuses = await Task.WhenAll(cluster.Members.Select(m => CliStatusAsync(m.ConfigPath)));
        Assert.Equal(1, statuses.Count(s => s.Output.Contains("Mode: leader", StringComparison.Ordinal)));
        Assert.Equal(2, statuses.Count(s => s.Output.Contains("Mode: follower", StringComparison.Ordinal)));

        var acknowledged = new List<string>();
        await using (var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString))
        {
            await client.CreateAsync("/e", null);
            await WriteAsync(client, "/e/a", 300, acknowledged);
        }

        // mntr and srvr report the roles as Apache does.
        var mntr = await FourLetter.SendAsync(cluster[leader].ClientPort, "mntr") ?? "";
        Assert.Contains("zk_server_state\tleader\n", mntr);
        Assert.Contains("zk_peer_state\tleading - broadcast\n", mntr);
        Assert.Contains("zk_quorum_size\t3\n", mntr);
        Assert.Contains("zk_synced_followers\t2\n", mntr);
        Assert.Contains("zk_learners\t2\n", mntr);
        Assert.Contains("zk_pending_syncs\t0\n", mntr);
        Assert.Matches(@"Proposal sizes last/min/max: \d+/\d+/\d+\n", await FourLetter.SendAsync(cluster[leader].ClientPort, "srvr"));
        var followerMntr = await FourLetter.SendAsync(cluster.Members.First(m => m.Id != leader).ClientPort, "mntr") ?? "";
        Assert.Contains("zk_server_state\tfollower\n", followerMntr);
        Assert.Contains("zk_peer_state\tfollowing - broadcast\n", followerMntr);

        // kill -9 the leader: the other two elect a new one that takes writes.
        await cluster[leader].KillAsync();
        var killedAt = Stopwatch.StartNew();
        var survivors = cluster.Members.Where(m => m.Id != leader).Select(m => m.Id).ToList();
        var newLeader = await cluster.WaitForLeaderAsync(ElectionTimeout, survivors);
        await using (var client = await EnsembleCluster.ConnectAsync(string.Join(",", survivors.Select(id => cluster[id].ConnectString))))
        {
            await WriteAsync(client, "/e/b", 100, acknowledged);
        }

        output.WriteLine($"leader {leader} killed; server {newLeader} leads and took writes after {killedAt.ElapsedMilliseconds} ms");
        foreach (var id in survivors)
        {
            Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(id, "/e")).Order());
        }

        // Without a majority the last server stops serving.
        var last = survivors.Single(id => id != newLeader);
        await cluster[newLeader].KillAsync();
        await PollAsync(async () => await cluster[last].ModeAsync() is null, "the last server to stop serving");
        var status = await CliStatusAsync(cluster[last].ConfigPath);
        Assert.Contains("Error contacting service. It is probably not running.", status.Output);
        Assert.NotEqual(0, status.ExitCode);

        // One server back: a majority again, and nothing acknowledged is lost.
        cluster[leader].Start();
        await cluster.WaitForLeaderAsync(ElectionTimeout, [leader, last]);
        foreach (var id in new[] { leader, last })
        {
            Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(id, "/e")).Order());
        }

        // The third returns and catches up.
        cluster[newLeader].Start();
        await cluster.WaitForLeaderAsync(ElectionTimeout);
        Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(newLeader, "/e")).Order());
    }

    [Fact]
    public async Task ASecondServerWithAMyidAlreadyRunningFailsLoudly()
    {
        await using var cluster = EnsembleCluster.Create(SharpKeepers(3));
        cluster.StartAll();
        await cluster.WaitForLeaderAsync(ElectionTimeout);

        // Another server.2, started from a copy of server 2's configuration and dataDir.
        var copy = Path.Combine(cluster[2].Directory, "..", "s2-copy");
        Directory.CreateDirectory(Path.Combine(copy, "data"));
        File.Copy(Path.Combine(cluster[2].Directory, "data", "myid"), Path.Combine(copy, "data", "myid"));
        var config = Path.Combine(copy, "zoo.cfg");
        File.WriteAllText(config, File.ReadAllText(cluster[2].ConfigPath)
            .Replace(cluster[2].Directory, copy, StringComparison.Ordinal)
            .Replace($"clientPort={cluster[2].ClientPort}", $"clientPort={FreePort.Pick()}", StringComparison.Ordinal));
        var duplicate = await SharpKeeperCommandAsync("start-foreground", config);
        Assert.False(duplicate.TimedOut);
        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("another server is already running as server.2", duplicate.Output);

        // The ensemble is undisturbed.
        await cluster.WaitForLeaderAsync(ElectionTimeout);
    }

    [Fact]
    public async Task AFollowerThatWasDownCatchesUpByDiffAndBySnap()
    {
        // A short history makes the leader fall back to a snapshot for a follower far behind.
        await using var cluster = EnsembleCluster.Create(SharpKeepers(3), "commitLogCount=3000");
        cluster.StartAll();
        var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);
        var follower = cluster.Members.First(m => m.Id != leader).Id;
        var acknowledged = new List<string>();
        await using var client = await EnsembleCluster.ConnectAsync(cluster[leader].ConnectString);
        await client.CreateAsync("/c", null);

        // Down during 2000 writes: within the history, so DIFF.
        await cluster[follower].KillAsync();
        await WriteAsync(client, "/c/d", 2000, acknowledged);
        cluster[follower].Start();
        await cluster.WaitForLeaderAsync(ElectionTimeout);
        Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(follower, "/c")).Order());
        Assert.Contains("by DIFF from", cluster[follower].Log);

        // Down during 4000 writes: beyond it, so SNAP.
        await cluster[follower].KillAsync();
        await WriteAsync(client, "/c/s", 4000, acknowledged);
        cluster[follower].Start();
        await cluster.WaitForLeaderAsync(ElectionTimeout);
        Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(follower, "/c")).Order());
        Assert.Contains("by SNAP at", cluster[follower].Log);
    }

    [Fact]
    public async Task ASessionMovesToAnotherServerWithItsEphemeralNode()
    {
        await using var cluster = EnsembleCluster.Create(SharpKeepers(3));
        cluster.StartAll();
        var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);
        var followers = cluster.Members.Where(m => m.Id != leader).Select(m => m.Id).ToList();
        await using var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectString = $"{cluster[followers[0]].ConnectString},{cluster[followers[1]].ConnectString}",
            SessionTimeout = TimeSpan.FromSeconds(20),
            ShuffleHosts = false,
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
        });
        var session = client.SessionId;
        await client.CreateAsync("/owner", null, CreateMode.Ephemeral);

        // The server holding the session dies; the client reconnects to the other follower, which
        // asks the leader (REVALIDATE) whether the session is alive.
        await cluster[followers[0]].KillAsync();
        var acknowledged = new List<string>();
        await WriteAsync(client, "/after-move-", 1, acknowledged);
        Assert.Equal(session, client.SessionId);
        await using var observer = await EnsembleCluster.ConnectAsync(cluster[leader].ConnectString);
        var owner = await observer.ExistsAsync("/owner");
        Assert.NotNull(owner);
        Assert.Equal(session, owner.Value.EphemeralOwner);
    }

    [Fact]
    public async Task AnObserverServesReadsForwardsWritesAndNeverVotes()
    {
        await using var cluster = EnsembleCluster.Create(SharpKeepers(4), observers: new HashSet<int> { 4 });
        cluster.StartAll();
        var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);
        Assert.Equal("observer", await cluster[4].ModeAsync());
        Assert.Contains("zk_synced_observers\t1\n", await FourLetter.SendAsync(cluster[leader].ClientPort, "mntr"));

        var acknowledged = new List<string>();
        await using (var client = await EnsembleCluster.ConnectAsync(cluster[4].ConnectString))
        {
            await client.CreateAsync("/o", null);
            await WriteAsync(client, "/o/w", 100, acknowledged);
        }

        foreach (var member in cluster.Members)
        {
            Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(member.Id, "/o")).Order());
        }

        // Two of three participants down: the observer's vote would make a majority of four, but it has none.
        var participants = new[] { 1, 2, 3 };
        foreach (var id in participants.Where(id => id != leader).Take(1).Append(leader))
        {
            await cluster[id].KillAsync();
        }

        var remaining = participants.Single(id => cluster[id].IsRunning);
        await PollAsync(async () => await cluster[remaining].ModeAsync() is null && await cluster[4].ModeAsync() is null, "the ensemble to stop serving");

        cluster[leader].Start();
        await cluster.WaitForLeaderAsync(ElectionTimeout, [leader, remaining, 4]);
        Assert.Equal("observer", await cluster[4].ModeAsync());
        Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(4, "/o")).Order());
    }

    [Fact]
    public async Task FiveServersSurviveTwoFailures()
    {
        await using var cluster = EnsembleCluster.Create(SharpKeepers(5));
        cluster.StartAll();
        var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);
        var acknowledged = new List<string>();
        await using (var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString))
        {
            await client.CreateAsync("/f", null);
            await WriteAsync(client, "/f/a", 100, acknowledged);
        }

        var follower = cluster.Members.First(m => m.Id != leader).Id;
        await cluster[leader].KillAsync();
        await cluster[follower].KillAsync();
        var survivors = cluster.Members.Where(m => m.IsRunning).Select(m => m.Id).ToList();
        await cluster.WaitForLeaderAsync(ElectionTimeout, survivors);
        await using (var client = await EnsembleCluster.ConnectAsync(string.Join(",", survivors.Select(id => cluster[id].ConnectString))))
        {
            await WriteAsync(client, "/f/b", 100, acknowledged);
        }

        foreach (var id in survivors)
        {
            Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(id, "/f")).Order());
        }
    }

    [Fact]
    public async Task TenLeaderKillsEachFollowedByANewLeaderTakingWrites()
    {
        await using var cluster = EnsembleCluster.Create(SharpKeepers(3));
        cluster.StartAll();
        await cluster.WaitForLeaderAsync(ElectionTimeout);
        var acknowledged = new List<string>();
        await using (var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString))
        {
            await client.CreateAsync("/k", null);
        }

        var times = new List<long>();
        for (var round = 0; round < 10; round++)
        {
            var leader = await cluster.WaitForLeaderAsync(ElectionTimeout);
            var survivors = cluster.Members.Where(m => m.Id != leader).Select(m => m.Id).ToList();
            await using var client = await EnsembleCluster.ConnectAsync(string.Join(",", survivors.Select(id => cluster[id].ConnectString)));
            await cluster[leader].KillAsync();
            var clock = Stopwatch.StartNew();

            // Failover time: from the kill to the first acknowledged write.
            await WriteAsync(client, $"/k/r{round}-", 1, acknowledged);
            times.Add(clock.ElapsedMilliseconds);
            cluster[leader].Start();
        }

        await cluster.WaitForLeaderAsync(ElectionTimeout);
        foreach (var member in cluster.Members)
        {
            Assert.Equal(acknowledged.Order(), (await cluster.ChildrenOnAsync(member.Id, "/k")).Order());
        }

        times.Sort();
        output.WriteLine($"failover after kill -9 of the leader, 10 rounds: median {times[4]}-{times[5]} ms, max {times[^1]} ms ({string.Join(", ", times)})");
    }

    /// <summary>Creates <paramref name="count"/> sequential nodes; a write whose outcome the connection lost is retried.</summary>
    internal static async Task WriteAsync(ZooKeeperClient client, string prefix, int count, List<string> acknowledged)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        for (var i = 0; i < count; i++)
        {
            var path = $"{prefix}{i:D6}";
            while (true)
            {
                try
                {
                    await client.CreateAsync(path, [1, 2, 3]);
                    break;
                }
                catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
                {
                    // An earlier attempt whose reply was lost did succeed.
                    break;
                }
                catch (Exception e) when (e is KeeperException or IOException or TimeoutException or OperationCanceledException && DateTime.UtcNow < until)
                {
                    await Task.Delay(50);
                }
            }

            acknowledged.Add(path[(path.LastIndexOf('/') + 1)..]);
        }
    }

    internal static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    internal static Task<ProcessRunner.Result> CliStatusAsync(string config) => SharpKeeperCommandAsync("status", config);

    private static Task<ProcessRunner.Result> SharpKeeperCommandAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("dotnet", [RepoPaths.SharpKeeperDll, .. arguments], TimeSpan.FromSeconds(60));
}
