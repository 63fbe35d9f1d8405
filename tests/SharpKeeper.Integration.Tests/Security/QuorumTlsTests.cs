using System.Net;
using System.Net.Sockets;
using SharpKeeper.Integration.Tests.Ensemble;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Security;

/// <summary>
/// TLS between servers (sslQuorum, ssl.quorum.*), configured as an Apache operator does, in ensembles
/// that mix SharpKeeper and Debian's Apache ZooKeeper 3.8: Apache with sslQuorum takes only TLS on
/// its quorum and election ports, so an ensemble that elects and replicates proves SharpKeeper
/// speaks TLS to it both ways. Also the documented rolling switch (portUnification), and servers
/// whose certificate is untrusted or names another host being kept out.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class QuorumTlsTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private string QuorumTlsConfig(string keyStore, bool sslQuorum = true, bool portUnification = false) => $"""
        sslQuorum={(sslQuorum ? "true" : "false")}
        portUnification={(portUnification ? "true" : "false")}
        ssl.quorum.keyStore.location={_certificates.PathOf(keyStore)}
        ssl.quorum.keyStore.password={TestCertificates.StorePassword}
        ssl.quorum.trustStore.location={_certificates.CaPem}
        ssl.quorum.trustStore.password={TestCertificates.StorePassword}
        """;

    public static TheoryData<string> Mixes => ["AAS", "SSA", "SSS"];

    /// <summary>
    /// "AAS" starts with a SharpKeeper leader over two Apache followers, "SSA" with an Apache leader
    /// over two SharpKeeper followers; killing the leader swaps the roles. Hostname verification is
    /// on (the certificate names 127.0.0.1). A plain connection to a TLS-only port gets nothing.
    /// </summary>
    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task MixedEnsembleRunsWithTlsBetweenAllServers(string mix)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        _certificates.Issue("quorum", "CN=quorum member,O=SharpKeeper");
        var kinds = mix.Select(c => c == 'S' ? MemberKind.SharpKeeper : MemberKind.Apache).ToArray();
        await using var cluster = EnsembleCluster.Create(kinds, QuorumTlsConfig("quorum.p12"));
        cluster.StartAll();
        try
        {
            var (leaders, writes) = await MixedEnsembleTests.ElectWriteAndFailOverAsync(cluster, async leader =>
            {
                // A plain server-to-server greeting on a TLS-only port is closed without an answer.
                var sharp = cluster.Members.First(m => m.Kind == MemberKind.SharpKeeper);
                Assert.True(await PlainGreetingIsRefusedAsync(sharp.ElectionPort));
                if (sharp.Id == leader)
                {
                    Assert.True(await PlainGreetingIsRefusedAsync(sharp.QuorumPort));
                }
            });

            // Apache logs each TLS connection it accepts (UnifiedServerSocket) and each handshake it starts.
            foreach (var apache in cluster.Members.Where(m => m.Kind == MemberKind.Apache))
            {
                Assert.Matches("Accepted TLS connection|SSL handshake complete", apache.Log);
                Assert.DoesNotContain("Accepted plaintext connection", apache.Log);
            }

            output.WriteLine($"{mix} over TLS: leaders in turn: {string.Join(", ", leaders)}; {writes} writes read back from all three");
            if (mix != "SSS")
            {
                Assert.Contains(MemberKind.SharpKeeper, leaders);
                Assert.Contains(MemberKind.Apache, leaders);
            }
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>
    /// Apache's documented rolling switch, on a mixed ensemble with a client writing throughout:
    /// portUnification on every server (still plain), then sslQuorum one server at a time (TLS out,
    /// both in), then portUnification off (TLS only). No acknowledged write is lost.
    /// </summary>
    [Fact]
    public async Task RollingSwitchToTlsKeepsServing()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        _certificates.Issue("quorum", "CN=quorum member,O=SharpKeeper");
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.Apache, MemberKind.SharpKeeper]);
        cluster.StartAll();
        var acknowledged = new List<string>();
        try
        {
            await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout);
            await using var client = await EnsembleCluster.ConnectAsync(cluster.ConnectString, TimeSpan.FromSeconds(30));
            await client.CreateAsync("/r", null);
            var steps = new (string Name, bool SslQuorum, bool PortUnification)[]
            {
                ("portUnification", false, true),
                ("sslQuorum", true, true),
                ("TLS only", true, false),
            };
            foreach (var (name, sslQuorum, portUnification) in steps)
            {
                foreach (var member in cluster.Members)
                {
                    await member.KillAsync();
                    SetQuorumTls(member, QuorumTlsConfig("quorum.p12", sslQuorum, portUnification));
                    member.Start();
                    await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout, cluster.Members.Select(m => m.Id));
                    await EnsembleTests.WriteAsync(client, $"/r/{name.Replace(' ', '-')}-{member.Id}-", 20, acknowledged);
                }

                output.WriteLine($"step '{name}' done on all three; {acknowledged.Count} writes acknowledged");
            }

            await MixedEnsembleTests.AssertEveryServerHoldsAsync(cluster, cluster.Members.Select(m => m.Id), acknowledged, "/r");

            // The Apache member took plain connections while the others still dialled plain, and TLS ones after.
            Assert.Contains("Accepted plaintext connection", cluster[2].Log);
            Assert.Contains("Accepted TLS connection", cluster[2].Log);
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>
    /// A server whose certificate comes from a CA the others do not trust, and one whose certificate
    /// names another host, cannot join; the two good servers (one of each kind) serve without them.
    /// </summary>
    [Theory]
    [InlineData("untrusted")]
    [InlineData("misnamed")]
    public async Task AServerWithABadCertificateIsKeptOut(string problem)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        _certificates.Issue("quorum", "CN=quorum member,O=SharpKeeper");
        if (problem == "untrusted")
        {
            _certificates.Issue("bad", "CN=quorum member,O=SharpKeeper", rogue: true);
        }
        else
        {
            _certificates.Issue("bad", "CN=elsewhere.invalid", dnsNames: ["elsewhere.invalid"], ipAddresses: [IPAddress.Parse("192.0.2.7")]);
        }

        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.Apache, MemberKind.SharpKeeper], QuorumTlsConfig("quorum.p12"));
        SetQuorumTls(cluster[3], QuorumTlsConfig("bad.p12"));
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
            var reason = problem == "untrusted" ? "does not chain to the quorum trust store" : "names neither its address nor its host name";
            await EnsembleTests.PollAsync(() => Task.FromResult(cluster[1].Log.Contains(reason, StringComparison.Ordinal)), $"server 1 to log '{reason}'");
            output.WriteLine($"{problem} certificate: server 3 kept out; server 1 logged '{reason}'");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    /// <summary>Replaces the sslQuorum, portUnification and ssl.quorum.* lines of a member's zoo.cfg.</summary>
    private static void SetQuorumTls(EnsembleMember member, string settings)
    {
        member.ReplaceSettings(["sslQuorum=", "portUnification=", "ssl.quorum."], settings);
    }

    /// <summary>Sends a plain election greeting; true when the server closes the connection without answering it (a TLS alert at most).</summary>
    private static async Task<bool> PlainGreetingIsRefusedAsync(int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var greeting = new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 4, 0x78, 0x3a, 0x31, 0x32 };
        await socket.SendAsync(greeting);
        var received = new List<byte>();
        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    return received.Count == 0 || received[0] == 0x15;
                }

                received.AddRange(buffer.AsSpan(0, read));
            }
        }
        catch (SocketException)
        {
            return received.Count == 0 || received[0] == 0x15;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
