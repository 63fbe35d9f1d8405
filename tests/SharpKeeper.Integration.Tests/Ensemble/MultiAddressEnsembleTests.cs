using System.Text;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// Server lines with two addresses each (multiAddress.enabled, and -Dzookeeper.multiAddress.enabled,
/// which Apache 3.8 needs to read such lines): SharpKeeper alone and mixed with Apache in both roles
/// elect over version-2 election greetings, replicate, fail over, and print the same membership in
/// /zookeeper/config as Apache.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class MultiAddressEnsembleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Mixes => ["SSS", "AAS", "SSA"];

    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task AnEnsembleOfTwoAddressServersElectsReplicatesAndFailsOver(string mix)
    {
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        Assert.True(!kinds.Contains(MemberKind.Apache) || ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var cluster = EnsembleCluster.Create(kinds, "multiAddress.enabled=true", secondAddress: true);
        foreach (var member in cluster.Members)
        {
            member.JvmFlags = ["-Dzookeeper.multiAddress.enabled=true"];
        }

        cluster.StartAll();
        try
        {
            var configs = new List<string>();
            var (leaders, writes) = await MixedEnsembleTests.ElectWriteAndFailOverAsync(cluster, async _ =>
            {
                foreach (var member in cluster.Members)
                {
                    await using var client = await EnsembleCluster.ConnectAsync(member.ConnectString);
                    await client.SyncAsync("/zookeeper/config");
                    var (data, stat) = await client.GetDataAsync("/zookeeper/config");
                    configs.Add(Encoding.UTF8.GetString(data));

                    // As Apache's initConfigInZKDatabase sets it: data version -1, mzxid the config's version.
                    Assert.Equal((-1, 0L), (stat.Version, stat.Mzxid));
                }
            });
            Assert.Contains("server.1=127.0.0.1:", configs[0]);
            Assert.Contains("|127.0.0.2:", configs[0]);
            Assert.All(configs, config => Assert.Equal(configs[0], config));
            output.WriteLine($"{mix}: leaders in turn: {string.Join(", ", leaders)}; {writes} writes read back from all three; /zookeeper/config on every server:\n{configs[0]}");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
