using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Security;

/// <summary>
/// Debian's zkCli.sh and Apache Curator, unchanged, run their whole compat suites (tests/compat)
/// against SharpKeeper over TLS with a client certificate and over SASL DIGEST-MD5, configured with
/// the Java system properties an operator gives them (zookeeper.client.secure, zookeeper.ssl.*,
/// java.security.auth.login.config).
/// </summary>
public sealed class JavaClientSecurityTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    public static TheoryData<string> Suites => ["zkcli_compat.sh", "curator_compat.sh"];

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task TheSuitePassesOverTlsWithAClientCertificate(string suite)
    {
        _certificates.Issue("server", "CN=localhost");
        _certificates.Issue("client", "CN=java client,O=SharpKeeper");
        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync($"""
            secureClientPort={securePort}
            secureClientPortAddress=127.0.0.1
            authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
            ssl.keyStore.location={_certificates.PathOf("server.p12")}
            ssl.keyStore.password={TestCertificates.StorePassword}
            ssl.trustStore.location={_certificates.CaPem}
            """);
        var flags = string.Join(' ',
            "-Dzookeeper.client.secure=true",
            "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
            $"-Dzookeeper.ssl.keyStore.location={_certificates.PathOf("client.p12")}",
            $"-Dzookeeper.ssl.keyStore.password={TestCertificates.StorePassword}",
            $"-Dzookeeper.ssl.trustStore.location={_certificates.CaPem}",
            $"-Dzookeeper.ssl.trustStore.password={TestCertificates.StorePassword}");
        await RunSuiteAsync(suite, $"127.0.0.1:{securePort}", flags, server);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public async Task TheSuitePassesOverSasl(string suite)
    {
        var serverJaas = _certificates.PathOf("server.jaas");
        var clientJaas = _certificates.PathOf("client.jaas");
        File.WriteAllText(serverJaas, """
            Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="bobsecret"; };
            """);
        File.WriteAllText(clientJaas, """
            Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="bobsecret"; };
            """);
        await using var server = await SharpKeeperProcess.StartAsync($"""
            authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            java.security.auth.login.config={serverJaas}
            """);
        await RunSuiteAsync(suite, server.ConnectString, $"-Djava.security.auth.login.config={clientJaas}", server);
        Assert.Contains("authenticated with SASL", server.Log, StringComparison.OrdinalIgnoreCase);
    }

    private async Task RunSuiteAsync(string suite, string connectString, string flags, SharpKeeperProcess server)
    {
        var result = await ProcessRunner.RunAsync(
            "env", [$"CLIENT_SECURITY_FLAGS={flags}", "bash", Path.Combine(RepoPaths.Compat, suite), "--server", connectString],
            TimeSpan.FromMinutes(4));
        output.WriteLine(result.Output);
        Assert.False(result.TimedOut, $"{suite} timed out");
        Assert.True(result.ExitCode == 0, $"{suite} failed (exit {result.ExitCode}):\n{result.Output}\n--- server log ---\n{server.Log}");
        Assert.Contains("PASS", result.Output);
        Assert.DoesNotContain("FAIL", result.Output);
    }
}
