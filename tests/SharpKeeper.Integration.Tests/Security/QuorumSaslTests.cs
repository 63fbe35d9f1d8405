using SharpKeeper.Integration.Tests.Ensemble;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Security;

/// <summary>
/// SASL DIGEST-MD5 between servers (quorum.auth.*, JAAS sections QuorumServer and QuorumLearner),
/// configured as an Apache operator does (the JAAS file named by -Djava.security.auth.login.config:
/// on Apache's java command line, in SharpKeeper's SERVER_JVMFLAGS), in ensembles that mix
/// SharpKeeper and Debian's Apache ZooKeeper 3.8 with either leading; a server with a wrong password is kept out.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class QuorumSaslTests(ITestOutputHelper output) : IDisposable
{
    private const string Required = """
        quorum.auth.enableSasl=true
        quorum.auth.learnerRequireSasl=true
        quorum.auth.serverRequireSasl=true
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("sharpkeeper-qsasl-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string[] JaasFlags(string learnerPassword)
    {
        var path = Path.Combine(_directory, $"jaas-{learnerPassword}.conf");
        File.WriteAllText(path, $$"""
            QuorumServer {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                user_test="mypassword";
            };
            QuorumLearner {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                username="test"
                password="{{learnerPassword}}";
            };
            """);
        return [$"-Djava.security.auth.login.config={path}"];
    }

    public static TheoryData<string> Mixes => ["AAS", "SSA"];

    /// <summary>"AAS" starts with a SharpKeeper leader that authenticates Apache learners, "SSA" the other way round; killing the leader swaps them.</summary>
    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task MixedEnsembleRunsWithSaslBetweenAllServers(string mix)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        await using var cluster = EnsembleCluster.Create(kinds, Required);
        foreach (var member in cluster.Members)
        {
            member.JvmFlags = JaasFlags("mypassword");
        }

        cluster.StartAll();
        try
        {
            var (leaders, writes) = await MixedEnsembleTests.ElectWriteAndFailOverAsync(cluster);

            // Both kinds authenticated the other: Apache logs the learners it let in, SharpKeeper too.
            Assert.Contains(cluster.Members, m => m.Kind == MemberKind.Apache && m.Log.Contains("Successfully authenticated learner", StringComparison.Ordinal));
            Assert.Contains(cluster.Members, m => m.Kind == MemberKind.SharpKeeper && m.Log.Contains("authenticated with SASL DIGEST-MD5 as test", StringComparison.Ordinal));
            Assert.Contains(MemberKind.SharpKeeper, leaders);
            Assert.Contains(MemberKind.Apache, leaders);
            output.WriteLine($"{mix} with quorum SASL: leaders in turn: {string.Join(", ", leaders)}; {writes} writes read back from all three");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>A SharpKeeper server with the wrong quorum password is refused by both kinds; the other two serve.</summary>
    [Fact]
    public async Task AServerWithAWrongPasswordIsKeptOut()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.Apache, MemberKind.SharpKeeper], Required);
        cluster[1].JvmFlags = JaasFlags("mypassword");
        cluster[2].JvmFlags = JaasFlags("mypassword");
        cluster[3].JvmFlags = JaasFlags("wrong");
        cluster.StartAll();
        try
        {
            await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout, [1, 2]);
            var acknowledged = new List<string>();
            await using (var client = await EnsembleCluster.ConnectAsync(cluster[1].ConnectString))
            {
                await client.CreateAsync("/m", null);
                await EnsembleTests.WriteAsync(client, "/m/w-", 10, acknowledged);
            }

            Assert.Null(await cluster[3].ModeAsync());
            await EnsembleTests.PollAsync(
                () => Task.FromResult(cluster[1].Log.Contains("wrong password for test", StringComparison.Ordinal)
                    && cluster[2].Log.Contains("Failed to authenticate using SASL", StringComparison.Ordinal)),
                "servers 1 (SharpKeeper) and 2 (Apache) to refuse server 3");
            Assert.Contains("SASL authentication as test failed", cluster[3].Log);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
