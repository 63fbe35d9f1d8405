using System.Globalization;
using System.Text;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// reconfig (reconfigEnabled=true) on SharpKeeper alone and mixed with Apache 3.8, each kind as
/// leader: the first established membership takes the epoch's zxid as its version; refusals come
/// in Apache's order (NoAuth for a client that is not super, BadVersion, BadArguments,
/// NewConfigNoQuorum); a follower is removed and added back, then the leader is removed and hands
/// off; every server ends with the same /zookeeper/config and its own zoo.cfg.dynamic.&lt;version&gt;,
/// from which a restarted server reads its membership back.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class ReconfigEnsembleTests(ITestOutputHelper output)
{
    private const string Settings = """
        reconfigEnabled=true
        DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=
        """;

    public static TheoryData<string> Mixes => ["SSS", "AAS", "SSA", "SAA"];

    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task AFollowerLeavesAndComesBackThenTheLeaderHandsOff(string mix)
    {
        var kinds = KindsOf(mix);
        await using var cluster = EnsembleCluster.Create(kinds, Settings);
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
            var others = cluster.Members.Select(m => m.Id).Where(id => id != leader).ToList();
            var (follower, stays) = (others[0], others[1]);
            output.WriteLine($"{mix}: server {leader} ({cluster[leader].Kind}) leads; server {follower} leaves and comes back; the client is on server {stays}");

            // The first established membership is versioned with the epoch's first zxid, the same text on all.
            var first = await ConfigsAsync(cluster, [1, 2, 3]);
            Assert.Matches("\nversion=[0-9a-f]+00000000$", first);
            var version = Version(first);

            await using var admin = await EnsembleCluster.ConnectAsync(cluster[stays].ConnectString);
            Assert.Equal(ErrorCode.NoAuth, await RefusalAsync(admin, null, follower.ToString(CultureInfo.InvariantCulture), null));
            await admin.AddDigestAuthAsync("super", "secret");
            Assert.Equal(ErrorCode.BadVersion, await RefusalAsync(admin, null, follower.ToString(CultureInfo.InvariantCulture), null, version + 1));
            Assert.Equal(ErrorCode.BadArguments, await RefusalAsync(admin, null, $"{follower},{stays}", null));
            Assert.Equal(ErrorCode.BadArguments, await RefusalAsync(admin, "server.4=127.0.0.1:1:2", null, null));
            Assert.Equal(ErrorCode.NewConfigNoQuorum, await RefusalAsync(admin, null, null,
                $"{Line(cluster[leader])},server.7=127.0.0.1:7:8;9,server.8=127.0.0.1:10:11;12,server.9=127.0.0.1:13:14;15"));

            // A follower leaves: two voters commit from now on, and it stays on as a follower without a vote.
            var (data, stat) = await admin.ReconfigAsync(null, follower.ToString(CultureInfo.InvariantCulture), null, version);
            var removed = Encoding.UTF8.GetString(data);
            Assert.DoesNotContain($"server.{follower}=", removed, StringComparison.Ordinal);
            Assert.Equal(stat.Mzxid, Version(removed));
            Assert.Equal(-1, stat.Version);
            Assert.Equal(removed, await ConfigsAsync(cluster, [leader, stays]));
            await admin.CreateAsync("/after-removal", [1], CreateMode.Persistent);

            // It comes back with a client port, by an incremental join.
            var back = $"server.{follower}={Line(cluster[follower])[(Line(cluster[follower]).IndexOf('=') + 1)..]}";
            (data, stat) = await admin.ReconfigAsync(back, null, null);
            var added = Encoding.UTF8.GetString(data);
            Assert.Contains($"server.{follower}=127.0.0.1:{cluster[follower].QuorumPort}:{cluster[follower].ElectionPort}:participant;0.0.0.0:{cluster[follower].ClientPort}", added, StringComparison.Ordinal);
            Assert.Equal(added, await ConfigsAsync(cluster, [1, 2, 3]));
            foreach (var member in cluster.Members)
            {
                await EnsembleTests.PollAsync(
                    () => Task.FromResult(File.Exists(member.ConfigPath + ".dynamic." + Version(added).ToString("x", CultureInfo.InvariantCulture))),
                    $"server {member.Id}'s zoo.cfg.dynamic for version 0x{Version(added):x}");
                Assert.Contains("dynamicConfigFile=", await File.ReadAllTextAsync(member.ConfigPath), StringComparison.Ordinal);
            }

            // The leader leaves: another server leads without it, and writes go on.
            try
            {
                await admin.ReconfigAsync(null, leader.ToString(CultureInfo.InvariantCulture), null);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss)
            {
                // The client's server changed its leader as the reply was due; the config below tells.
            }

            var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60), [follower, stays]);
            var final = await ConfigsAsync(cluster, [follower, stays]);
            Assert.DoesNotContain($"server.{leader}=", final, StringComparison.Ordinal);
            await using var writer = await EnsembleCluster.ConnectAsync(cluster[newLeader].ConnectString);
            await writer.CreateAsync("/after-handoff", [2], CreateMode.Persistent);
            await using var reader = await EnsembleCluster.ConnectAsync(cluster[follower == newLeader ? stays : follower].ConnectString);
            await reader.SyncAsync("/after-handoff");
            Assert.Equal([2], (await reader.GetDataAsync("/after-handoff")).Data);
            output.WriteLine($"{mix}: after removing server {leader}, server {newLeader} ({cluster[newLeader].Kind}) leads; final membership:\n{final}");

            // Restarted, a server reads its membership back from the files the reconfigs left (zoo.cfg points at the newest).
            await cluster[follower].KillAsync();
            cluster[follower].Start();
            Assert.Equal(final, await ConfigsAsync(cluster, [follower, stays]));
            await using var restarted = await EnsembleCluster.ConnectAsync(cluster[follower].ConnectString);
            await restarted.SyncAsync("/after-handoff");
            Assert.Equal([2], (await restarted.GetDataAsync("/after-handoff")).Data);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    public static TheoryData<string> MoveMixes => ["SSS", "AAA", "SAA", "ASS"];

    /// <summary>
    /// A reconfig that gives a server another client address moves its client port there (as
    /// Apache's connection factory reconfigures): new clients connect on the new port, nothing
    /// listens on the old one, and a client connected before keeps its connection.
    /// </summary>
    [Theory]
    [MemberData(nameof(MoveMixes))]
    public async Task AReconfigMovesAServersClientPort(string mix)
    {
        await using var cluster = EnsembleCluster.Create(KindsOf(mix), Settings);
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
            var moved = cluster[1].Id == leader ? 2 : 1;
            var member = cluster[moved];
            await using var before = await EnsembleCluster.ConnectAsync(member.ConnectString);
            await using var admin = await EnsembleCluster.ConnectAsync(cluster[leader].ConnectString);
            await admin.AddDigestAuthAsync("super", "secret");
            var newPort = FreePort.Pick();
            var (data, _) = await admin.ReconfigAsync($"server.{moved}=127.0.0.1:{member.QuorumPort}:{member.ElectionPort}:participant;127.0.0.1:{newPort}", null, null);
            Assert.Contains($"server.{moved}=127.0.0.1:{member.QuorumPort}:{member.ElectionPort}:participant;127.0.0.1:{newPort}", Encoding.UTF8.GetString(data), StringComparison.Ordinal);
            output.WriteLine($"{mix}: server {leader} ({cluster[leader].Kind}) leads; server {moved} ({member.Kind}) moves its client port {member.ClientPort} -> {newPort}");

            await EnsembleTests.PollAsync(async () => await FourLetter.SendAsync(newPort, "ruok", TimeSpan.FromSeconds(2)) == "imok", $"server {moved} to answer on port {newPort}");
            await EnsembleTests.PollAsync(async () => await FourLetter.SendAsync(member.ClientPort, "ruok", TimeSpan.FromSeconds(2)) is null, $"server {moved} to stop listening on port {member.ClientPort}");
            await using var after = await EnsembleCluster.ConnectAsync($"127.0.0.1:{newPort}");
            await after.CreateAsync("/on-the-new-port", [1], CreateMode.Persistent);
            await before.SyncAsync("/on-the-new-port");
            Assert.Equal([1], (await before.GetDataAsync("/on-the-new-port")).Data);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    public static TheoryData<string> ObserverMixes => ["SSSS", "SAAS", "ASSA"];

    /// <summary>
    /// Server 4 observes: it learns each reconfig by INFORMANDACTIVATE (from either kind of leader).
    /// A follower made an observer by reconfig goes on as an observer of the same leader.
    /// </summary>
    [Theory]
    [MemberData(nameof(ObserverMixes))]
    public async Task ObserversLearnOfReconfigsAndAFollowerBecomesAnObserver(string mix)
    {
        var kinds = KindsOf(mix);
        await using var cluster = EnsembleCluster.Create(kinds, Settings, observers: new HashSet<int> { 4 });
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
            var follower = cluster.Members.First(m => m.Id != leader && m.Id != 4);
            await ConfigsAsync(cluster, [1, 2, 3, 4]);
            await using var admin = await EnsembleCluster.ConnectAsync(cluster[4].ConnectString);
            await admin.AddDigestAuthAsync("super", "secret");

            var (data, _) = await admin.ReconfigAsync($"{Line(follower)[..Line(follower).IndexOf(';')]}:observer;{follower.ClientPort}", null, null);
            var changed = Encoding.UTF8.GetString(data);
            Assert.Contains($"server.{follower.Id}=127.0.0.1:{follower.QuorumPort}:{follower.ElectionPort}:observer;0.0.0.0:{follower.ClientPort}", changed, StringComparison.Ordinal);
            Assert.Equal(changed, await ConfigsAsync(cluster, [1, 2, 3, 4]));
            await EnsembleTests.PollAsync(async () => await follower.ModeAsync() == "observer", $"server {follower.Id} to observe");
            Assert.Equal("leader", await cluster[leader].ModeAsync());

            await admin.CreateAsync("/observed", [4], CreateMode.Persistent);
            await using var reader = await EnsembleCluster.ConnectAsync(follower.ConnectString);
            await reader.SyncAsync("/observed");
            Assert.Equal([4], (await reader.GetDataAsync("/observed")).Data);
            output.WriteLine($"{mix}: server {leader} ({cluster[leader].Kind}) leads; server {follower.Id} ({follower.Kind}) now observes; membership on all four:\n{changed}");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    public static TheoryData<string> KazooMixes => ["SSS", "AAA"];

    /// <summary>What kazoo's own TestReconfig does (tests/compat/kazoo_reconfig.py), against SharpKeeper and, for reference, Apache.</summary>
    [Theory]
    [MemberData(nameof(KazooMixes))]
    public async Task KazooReconfiguresTheEnsemble(string mix)
    {
        var kinds = KindsOf(mix);
        await using var cluster = EnsembleCluster.Create(kinds, Settings);
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
            var kazoo = await ProcessRunner.RunAsync(
                "/usr/bin/python3",
                [Path.Combine(RepoPaths.Compat, "kazoo_reconfig.py"), "--server", cluster[leader == 1 ? 2 : 1].ConnectString, "--super-password", "secret"],
                TimeSpan.FromMinutes(2));
            output.WriteLine($"{mix}:\n{kazoo.Output}");
            Assert.True(kazoo.ExitCode == 0, kazoo.Output);
            Assert.Contains("6 passed, 0 failed", kazoo.Output, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    public static TheoryData<string> GrowthMixes => ["SS", "AS", "SA"];

    /// <summary>
    /// standaloneEnabled=false: one server is an ensemble of one that leads itself; a second server,
    /// started with both lines, follows it without a vote until a reconfig adds it; then both vote.
    /// </summary>
    [Theory]
    [MemberData(nameof(GrowthMixes))]
    public async Task AnEnsembleOfOneGrowsByReconfig(string mix)
    {
        var kinds = KindsOf(mix);
        await using var cluster = EnsembleCluster.Create(kinds, Settings + "\nstandaloneEnabled=false");
        var (first, second) = (cluster[1], cluster[2]);
        first.ReplaceSettings(["server."], $"server.1=127.0.0.1:{first.QuorumPort}:{first.ElectionPort}");
        first.Start();
        try
        {
            Assert.Equal(1, await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60), [1]));
            await using var admin = await EnsembleCluster.ConnectAsync(first.ConnectString);
            await admin.AddDigestAuthAsync("super", "secret");
            await admin.CreateAsync("/alone", [1], CreateMode.Persistent);

            // Not yet synchronized with the leader, server 2 cannot be a voter: no quorum of {1, 2} is synced.
            Assert.Equal(ErrorCode.NewConfigNoQuorum, await RefusalAsync(admin, Line(second), null, null));
            second.Start();
            await EnsembleTests.PollAsync(async () => await second.ModeAsync() == "follower", "server 2 to follow server 1 without a vote");

            var (data, _) = await admin.ReconfigAsync(Line(second), null, null);
            var grown = Encoding.UTF8.GetString(data);
            Assert.Contains($"server.2=127.0.0.1:{second.QuorumPort}:{second.ElectionPort}:participant;0.0.0.0:{second.ClientPort}", grown, StringComparison.Ordinal);
            Assert.Equal(grown, await ConfigsAsync(cluster, [1, 2]));
            await admin.CreateAsync("/together", [2], CreateMode.Persistent);
            await using var reader = await EnsembleCluster.ConnectAsync(second.ConnectString);
            await reader.SyncAsync("/together");
            Assert.Equal([1], (await reader.GetDataAsync("/alone")).Data);
            Assert.Equal([2], (await reader.GetDataAsync("/together")).Data);
            output.WriteLine($"{mix}: server 1 ({first.Kind}) led alone, then with server 2 ({second.Kind}):\n{grown}");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>
    /// Apache's zkCli, unchanged, runs config and reconfig -remove, -add and -members against an
    /// all-SharpKeeper ensemble and an all-Apache one; what it prints is the same but for ports and versions.
    /// </summary>
    [Fact]
    public async Task ZkCliReconfiguresSharpKeeperAsItDoesApache()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        var sharpKeeper = await ZkCliSessionAsync(MemberKind.SharpKeeper);
        var apache = await ZkCliSessionAsync(MemberKind.Apache);
        output.WriteLine($"zkCli against SharpKeeper:\n{sharpKeeper}\nagainst Apache:\n{apache}");
        Assert.Contains("Committed new configuration:", sharpKeeper, StringComparison.Ordinal);
        Assert.Equal(apache, sharpKeeper);
    }

    private async Task<string> ZkCliSessionAsync(MemberKind kind)
    {
        await using var cluster = EnsembleCluster.Create([kind, kind, kind], Settings);
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
            var follower = cluster.Members.First(m => m.Id != leader);
            var client = cluster.Members.Last(m => m.Id != leader);
            var members = string.Join(",", cluster.Members.Select(Line));
            var script = $"""
                config
                reconfig -remove {follower.Id}
                addauth digest super:secret
                reconfig -remove {follower.Id}
                reconfig -add {Line(follower)}
                reconfig -members {members}
                reconfig -remove {follower.Id} -v 1
                config
                quit

                """;
            var result = await ProcessRunner.RunAsync(
                "java",
                ["-cp", ApacheZooKeeperProcess.ClientClasspath, "org.apache.zookeeper.ZooKeeperMain", "-server", client.ConnectString],
                TimeSpan.FromMinutes(2), stdin: script);
            Assert.False(result.TimedOut, result.Output);

            // zkCli prints its answers on stdout and its error messages on stderr: each stream is
            // compared in its own order (how the two interleave on arrival is not fixed).
            return Normalize(result.StandardOutput, cluster) + "\n-- stderr:\n" + Normalize(result.StandardError, cluster);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>zkCli's answers without its log lines, with each server's ports and the config versions replaced by names.</summary>
    private static string Normalize(string text, EnsembleCluster cluster)
    {
        // Only zkCli's answers: membership lines, "Committed new configuration:" and its error messages (ending in " :").
        var lines = text.Split('\n').Select(l => l.TrimEnd())
            .Where(l => l.StartsWith("server.", StringComparison.Ordinal) || l.StartsWith("version=", StringComparison.Ordinal)
                || l.StartsWith("Committed", StringComparison.Ordinal) || (l.EndsWith(" :", StringComparison.Ordinal) && !l.Contains(" INFO ", StringComparison.Ordinal)));
        var joined = string.Join('\n', lines);
        foreach (var member in cluster.Members)
        {
            joined = joined.Replace(member.QuorumPort.ToString(CultureInfo.InvariantCulture), $"<quorum{member.Id}>", StringComparison.Ordinal)
                .Replace(member.ElectionPort.ToString(CultureInfo.InvariantCulture), $"<election{member.Id}>", StringComparison.Ordinal)
                .Replace(member.ClientPort.ToString(CultureInfo.InvariantCulture), $"<client{member.Id}>", StringComparison.Ordinal);
        }

        return System.Text.RegularExpressions.Regex.Replace(joined, "version=[0-9a-f]+", "version=<v>");
    }

    /// <summary>"SAS": server 1 SharpKeeper, 2 Apache, 3 SharpKeeper (Apache must be installed when named).</summary>
    internal static MemberKind[] KindsOf(string mix)
    {
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        Assert.True(!kinds.Contains(MemberKind.Apache) || ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        return kinds;
    }

    private static string Line(EnsembleMember member) =>
        $"server.{member.Id}=127.0.0.1:{member.QuorumPort}:{member.ElectionPort};{member.ClientPort}";

    private static long Version(string config) =>
        long.Parse(config[(config.LastIndexOf("version=", StringComparison.Ordinal) + "version=".Length)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static async Task<ErrorCode> RefusalAsync(ZooKeeperClient client, string? joining, string? leaving, string? members, long fromConfig = -1)
    {
        var refused = await Assert.ThrowsAsync<KeeperException>(() => client.ReconfigAsync(joining, leaving, members, fromConfig));
        return refused.Code;
    }

    /// <summary>/zookeeper/config as each of <paramref name="ids"/> holds it, once all agree (synced reads).</summary>
    private static async Task<string> ConfigsAsync(EnsembleCluster cluster, IReadOnlyList<int> ids)
    {
        var texts = new string[ids.Count];
        await EnsembleTests.PollAsync(async () =>
        {
            try
            {
                for (var i = 0; i < ids.Count; i++)
                {
                    await using var client = await EnsembleCluster.ConnectAsync(cluster[ids[i]].ConnectString);
                    await client.SyncAsync("/zookeeper/config");
                    texts[i] = Encoding.UTF8.GetString((await client.GetConfigAsync()).Data);
                }

                return texts.All(t => t == texts[0]);
            }
            catch (Exception e) when (e is KeeperException or IOException or TimeoutException)
            {
                return false;
            }
        }, $"servers {string.Join(",", ids)} to show the same /zookeeper/config");
        return texts[0];
    }
}
