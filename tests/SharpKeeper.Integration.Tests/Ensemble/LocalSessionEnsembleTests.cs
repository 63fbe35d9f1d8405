using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// localSessionsEnabled across an ensemble, SharpKeeper alone and mixed with Apache in both roles:
/// a session on any server is local to it (mntr counts it there, no other server knows it); its first
/// ephemeral upgrades it through the leader, whoever leads, so the node and its owner are on every
/// server and leave with the session.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class LocalSessionEnsembleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Mixes => ["SSS", "AAS", "SSA"];

    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task ASessionIsLocalToItsServerUntilItsFirstEphemeralMakesItGlobalThroughTheLeader(string mix)
    {
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        Assert.True(!kinds.Contains(MemberKind.Apache) || ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var cluster = EnsembleCluster.Create(kinds, "localSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true");
        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout);
            foreach (var member in cluster.Members)
            {
                await EnsembleTests.PollAsync(async () => await member.ModeAsync() is "leader" or "follower", $"server {member.Id} to serve");
            }

            foreach (var member in cluster.Members)
            {
                await using var client = await EnsembleCluster.ConnectAsync(member.ConnectString);
                if (member.Kind == MemberKind.SharpKeeper)
                {
                    Assert.Equal((1, 0), (await MntrAsync(member.ClientPort, "zk_local_sessions"), await MntrAsync(member.ClientPort, "zk_global_sessions")));
                }

                await client.CreateAsync($"/p{member.Id}", null);

                await client.CreateAsync($"/e{member.Id}", null, CreateMode.Ephemeral);
                if (member.Kind == MemberKind.SharpKeeper)
                {
                    Assert.Equal(0, await MntrAsync(member.ClientPort, "zk_local_sessions"));
                }

                foreach (var other in cluster.Members)
                {
                    await using var reader = await EnsembleCluster.ConnectAsync(other.ConnectString);
                    await reader.SyncAsync("/");
                    var stat = await reader.ExistsAsync($"/e{member.Id}");
                    Assert.Equal(client.SessionId, stat?.EphemeralOwner);
                }

                output.WriteLine($"{mix}: a session on server {member.Id} ({member.Kind}{(member.Id == leader ? ", leader" : "")}) was local, then global with its ephemeral on all three");
            }

            await using var check = await EnsembleCluster.ConnectAsync(cluster[1].ConnectString);
            foreach (var member in cluster.Members)
            {
                await EnsembleTests.PollAsync(async () => await check.ExistsAsync($"/e{member.Id}") is null, $"server {member.Id}'s ephemeral to leave with its session");
                Assert.NotNull(await check.ExistsAsync($"/p{member.Id}"));
            }
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    [Fact]
    public async Task WithoutUpgradingAnEphemeralFromALocalSessionIsRefusedOnLeaderAndFollower()
    {
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.SharpKeeper, MemberKind.SharpKeeper], "localSessionsEnabled=true");
        cluster.StartAll();
        try
        {
            await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout);
            foreach (var member in cluster.Members)
            {
                await EnsembleTests.PollAsync(async () => await member.ModeAsync() is "leader" or "follower", $"server {member.Id} to serve");
                await using var client = await EnsembleCluster.ConnectAsync(member.ConnectString);
                var refused = await Assert.ThrowsAsync<KeeperException>(() => client.CreateAsync($"/e{member.Id}", null, CreateMode.Ephemeral));
                Assert.Equal(ErrorCode.EphemeralOnLocalSession, refused.Code);
                await client.CreateAsync($"/p{member.Id}", null);
            }
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    private static async Task<long> MntrAsync(int port, string key)
    {
        var mntr = await FourLetter.SendAsync(port, "mntr") ?? "";
        var line = mntr.Split('\n').Single(l => l.StartsWith(key + "\t", StringComparison.Ordinal));
        return long.Parse(line[(key.Length + 1)..].Trim());
    }
}
