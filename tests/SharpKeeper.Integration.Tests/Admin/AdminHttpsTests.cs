using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The AdminServer over HTTPS with the quorum's stores (ssl.quorum.*), as Apache's: HTTP and HTTPS
/// on one port with admin.portUnification, HTTPS only with admin.forceHttps, and with
/// admin.needClientAuth a client certificate that "x509" in the Authorization header names.
/// </summary>
public sealed class AdminHttpsTests : IDisposable
{
    private const string ClientSubject = "CN=operator,OU=Tests,O=SharpKeeper,C=US";
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private string HttpsConfig(int adminPort, string mode) => $"""
        admin.serverAddress=127.0.0.1
        admin.serverPort={adminPort}
        {mode}
        ssl.quorum.keyStore.location={_certificates.PathOf("server.pem")}
        ssl.quorum.keyStore.password={TestCertificates.StorePassword}
        ssl.quorum.trustStore.location={_certificates.CaPem}
        ssl.quorum.trustStore.password={TestCertificates.StorePassword}
        """;

    [Fact]
    public async Task PortUnificationServesHttpAndHttpsOnOnePort()
    {
        _certificates.Issue("server", "CN=localhost");
        var adminPort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(HttpsConfig(adminPort, "admin.portUnification=true"));
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        Assert.Equal("ruok", await CommandAsync(plain, $"http://127.0.0.1:{adminPort}/commands/ruok"));
        using var secure = Https(clientCertificate: null);
        using var response = await secure.GetAsync($"https://127.0.0.1:{adminPort}/commands/ruok");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("max-age=86400; includeSubDomains", response.Headers.GetValues("Strict-Transport-Security").Single());
    }

    [Fact]
    public async Task ForceHttpsRefusesPlainHttpAndNeedClientAuthNamesTheCallerForX509()
    {
        _certificates.Issue("server", "CN=localhost");
        var client = _certificates.Issue("operator", ClientSubject);
        var adminPort = FreePort.Pick();
        var securePort = FreePort.Pick();

        // The x509 identity comes from the client TLS settings' provider, as Apache's X509AuthenticationProvider.
        await using var server = await SharpKeeperProcess.StartAsync(HttpsConfig(adminPort, $"""
            admin.forceHttps=true
            admin.needClientAuth=true
            admin.rateLimiterIntervalInMS=0
            secureClientPort={securePort}
            secureClientPortAddress=127.0.0.1
            authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
            ssl.keyStore.location={_certificates.PathOf("server.pem")}
            ssl.keyStore.password={TestCertificates.StorePassword}
            ssl.trustStore.location={_certificates.CaPem}
            ssl.trustStore.password={TestCertificates.StorePassword}
            """));
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync($"http://127.0.0.1:{adminPort}/commands/ruok"));
        using var anonymous = Https(clientCertificate: null);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetAsync($"https://127.0.0.1:{adminPort}/commands/ruok"));

        using var named = Https(client);
        Assert.Equal("ruok", await CommandAsync(named, $"https://127.0.0.1:{adminPort}/commands/ruok"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"https://127.0.0.1:{adminPort}/commands/snapshot?streaming=false");
        request.Headers.TryAddWithoutValidation("Authorization", "x509");
        using var snapshot = await named.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
        Assert.True(snapshot.Headers.Contains("last_zxid"));

        // A session on the secure client port is listed under secure_connections.
        await using var session = await Security.ClientTlsTests.TlsSession.ConnectAsync(securePort, client, _certificates.Ca);
        var connections = JsonDocument.Parse(await named.GetStringAsync($"https://127.0.0.1:{adminPort}/commands/connections")).RootElement;
        Assert.Empty(connections.GetProperty("connections").EnumerateArray());
        Assert.Equal(session.SessionId, Assert.Single(connections.GetProperty("secure_connections").EnumerateArray()).GetProperty("session_id").GetInt64());
    }

    private HttpClient Https(X509Certificate2? clientCertificate)
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(_certificates.Ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            },
        };
        if (clientCertificate is not null)
        {
            handler.ClientCertificateOptions = ClientCertificateOption.Manual;
            handler.ClientCertificates.Add(clientCertificate);
        }

        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }

    private static async Task<string?> CommandAsync(HttpClient http, string url) =>
        JsonDocument.Parse(await http.GetStringAsync(url)).RootElement.GetProperty("command").GetString();
}
