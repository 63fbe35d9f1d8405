using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Security;

/// <summary>
/// Client SASL DIGEST-MD5 as an Apache operator configures it: a JAAS file whose Server section lists
/// user_NAME="password" (java.security.auth.login.config, from SERVER_JVMFLAGS or zoo.cfg) and the
/// SASL authentication provider. Real clients authenticate unchanged: kazoo (puresasl) and Apache's
/// Java client, which sees the same whoami identities on Apache 3.8 and SharpKeeper.
/// </summary>
public sealed class ClientSaslTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpkeeper-sasl-").FullName;

    public ClientSaslTests()
    {
        File.WriteAllText(ServerJaas, """
            Server {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                user_super="adminsecret"
                user_bob="bobsecret";
            };
            """);
        File.WriteAllText(ClientJaas, """
            Client {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                username="bob"
                password="bobsecret";
            };
            """);
    }

    private string ServerJaas => Path.Combine(_directory, "server.jaas");

    private string ClientJaas => Path.Combine(_directory, "client.jaas");

    private string SaslConfig => $"""
        authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
        java.security.auth.login.config={ServerJaas}
        """;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task KazooAuthenticatesWithDigestMd5AndAWrongPasswordIsRefused()
    {
        await using var server = await SharpKeeperProcess.StartAsync(SaslConfig);
        var result = await KazooSaslAsync(server.ConnectString);
        Assert.False(result.TimedOut, result.Output);
        Assert.True(result.ExitCode == 0, $"{result.Output}\n--- server log ---\n{server.Log}");
        Assert.Contains("2 passed, 0 failed", result.Output);
        Assert.Contains("failed to SASL authenticate: DIGEST-MD5: wrong password for bob", server.Log);
        Assert.DoesNotContain("authentication providers are Java classes", server.Log);
    }

    /// <summary>On a follower, the sasl id travels with the forwarded write, so the leader applies the ACL made for it.</summary>
    [Fact]
    public async Task ASaslIdentityWorksThroughAFollower()
    {
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.SharpKeeper, MemberKind.SharpKeeper], SaslConfig);
        cluster.StartAll();
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        var follower = cluster.Members.First(m => m.Id != leader);
        var result = await KazooSaslAsync(follower.ConnectString);
        Assert.False(result.TimedOut, result.Output);
        Assert.True(result.ExitCode == 0, $"{result.Output}\n{cluster.Logs()}");
    }

    [Fact]
    public async Task TheJavaClientSeesTheSameIdentitiesOnApacheAndSharpKeeper()
    {
        await using var sharp = await SharpKeeperProcess.StartAsync(SaslConfig);
        await using var apache = await ApacheZooKeeperProcess.StartAsync(
            extraConfig: "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
            jvmFlags: [$"-Djava.security.auth.login.config={ServerJaas}"]);

        var onApache = await JavaWhoAmIAsync(apache.Port);
        var onSharp = await JavaWhoAmIAsync(sharp.Port);
        Assert.Contains("sasl: bob", onApache);
        Assert.Equal(onApache.Order(), onSharp.Order());
    }

    [Fact]
    public async Task SaslOnAServerWithoutItIsRefusedClearly()
    {
        await using var server = await SharpKeeperProcess.StartAsync();
        var result = await KazooSaslAsync(server.ConnectString);
        Assert.Contains("FAIL sasl-digest-acl", result.Output);
        Assert.Contains("asked for SASL authentication, which is not configured here", server.Log);
        Assert.Equal("imok", await FourLetter.SendAsync(server.Port, "ruok"));
    }

    /// <summary>tests/compat/kazoo_sasl.py as bob: a sasl ACL, then a wrong password.</summary>
    private static Task<ProcessRunner.Result> KazooSaslAsync(string connectString) =>
        ProcessRunner.RunAsync(
            "/usr/bin/python3",
            [Path.Combine(RepoPaths.Compat, "kazoo_sasl.py"), "--server", connectString, "--user", "bob", "--password", "bobsecret"],
            TimeSpan.FromMinutes(2));

    private async Task<List<string>> JavaWhoAmIAsync(int port)
    {
        var result = await ProcessRunner.RunAsync(
            "java",
            [
                "-cp", ApacheZooKeeperProcess.ClientClasspath, $"-Djava.security.auth.login.config={ClientJaas}",
                "org.apache.zookeeper.ZooKeeperMain", "-server", $"127.0.0.1:{port}", "whoami",
            ],
            TimeSpan.FromMinutes(1));
        Assert.False(result.TimedOut, result.Output);
        return [.. result.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("sasl:", StringComparison.Ordinal) || l.StartsWith("ip:", StringComparison.Ordinal))];
    }
}
