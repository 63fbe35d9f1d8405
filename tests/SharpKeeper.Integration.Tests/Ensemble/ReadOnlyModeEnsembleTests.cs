using System.Text;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// Read-only mode (-Dreadonlymode.enabled=true in SERVER_JVMFLAGS, as an Apache operator sets it)
/// run the same way on Apache, SharpKeeper and a SharpKeeper server among Apache ones: server 1
/// loses its quorum, serves read-only clients (isro says ro, kazoo and this project's client reach
/// CONNECTED_RO, reads work, writes are NotReadOnly, a read-write client is refused), and rejoins
/// the ensemble as a read-write member when the quorum returns.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class ReadOnlyModeEnsembleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Mixes => ["SSS", "AAA", "SAA"];

    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task AServerCutOffFromItsQuorumServesReadOnlyClientsUntilTheQuorumReturns(string mix)
    {
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        Assert.True(!kinds.Contains(MemberKind.Apache) || ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");

        // Apache's read-only server gives new sessions only local ones: it needs localSessionsEnabled.
        await using var cluster = EnsembleCluster.Create(kinds, "localSessionsEnabled=true");
        foreach (var member in cluster.Members)
        {
            member.JvmFlags = ["-Dreadonlymode.enabled=true"];
        }

        cluster.StartAll();
        var isolated = cluster[1];
        try
        {
            await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout);
            await EnsembleTests.PollAsync(async () => await isolated.ModeAsync() is "leader" or "follower", "server 1 to serve");
            await using (var writer = await EnsembleCluster.ConnectAsync(isolated.ConnectString))
            {
                await writer.CreateAsync("/ro", Encoding.UTF8.GetBytes("before"));
                Assert.Equal("rw", await FourLetter.SendAsync(isolated.ClientPort, "isro"));
            }

            await cluster[2].KillAsync();
            await cluster[3].KillAsync();
            await EnsembleTests.PollAsync(async () => await FourLetter.SendAsync(isolated.ClientPort, "isro") == "ro", "server 1 to serve read-only");
            Assert.Contains("Mode: read-only", await FourLetter.SendAsync(isolated.ClientPort, "srvr"));

            var kazoo = await ProcessRunner.RunAsync(
                "/usr/bin/python3",
                [Path.Combine(RepoPaths.Compat, "kazoo_readonly.py"), "--server", isolated.ConnectString, "--path", "/ro", "--data", "before"],
                TimeSpan.FromMinutes(2));
            output.WriteLine(kazoo.Output);
            Assert.True(kazoo.ExitCode == 0, kazoo.Output);

            await using (var reader = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
            {
                ConnectString = isolated.ConnectString,
                CanBeReadOnly = true,
                SessionTimeout = TimeSpan.FromSeconds(10),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            }))
            {
                Assert.Equal("before", Encoding.UTF8.GetString((await reader.GetDataAsync("/ro")).Data!));
                var refused = await Assert.ThrowsAsync<KeeperException>(() => reader.SetDataAsync("/ro", [1]));
                Assert.Equal(ErrorCode.NotReadOnly, refused.Code);
            }

            cluster[2].Start();
            cluster[3].Start();
            await EnsembleTests.PollAsync(async () => await isolated.ModeAsync() is "leader" or "follower", "server 1 to rejoin its quorum");
            Assert.Equal("rw", await FourLetter.SendAsync(isolated.ClientPort, "isro"));
            await using (var writer = await EnsembleCluster.ConnectAsync(isolated.ConnectString))
            {
                await writer.SetDataAsync("/ro", Encoding.UTF8.GetBytes("after"));
            }

            output.WriteLine($"{mix}: server 1 ({isolated.Kind}) served read-only clients alone and rejoined as {await isolated.ModeAsync()}");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
