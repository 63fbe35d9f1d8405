using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Security;

/// <summary>
/// TLS on the secure client port of a real server process, configured as an Apache operator does
/// (secureClientPort, ssl.keyStore.*, ssl.trustStore.*, ssl.clientAuth, authProvider.x509): client
/// certificates become x509 ids, bad TLS input closes only that connection, unreadable stores stop
/// the start naming the key and the file, and kazoo works over TLS unchanged.
/// </summary>
public sealed class ClientTlsTests : IDisposable
{
    private const string ClientSubject = "CN=client one,OU=Tests,O=SharpKeeper,C=US";
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private string TlsConfig(int securePort, string keyStore, string clientAuth = "need", string extra = "", string? trustStore = null) => $"""
        secureClientPort={securePort}
        secureClientPortAddress=127.0.0.1
        serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
        authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
        ssl.keyStore.location={_certificates.PathOf(keyStore)}
        ssl.keyStore.password={TestCertificates.StorePassword}
        ssl.trustStore.location={trustStore ?? _certificates.CaPem}
        ssl.trustStore.password={TestCertificates.StorePassword}
        ssl.clientAuth={clientAuth}
        {extra}
        """;

    [Theory]
    [InlineData("server.pem", false)]
    [InlineData("server.pem", true)]
    [InlineData("server.p12", false)]
    [InlineData("server.jks", false)]
    public async Task AClientCertificateIsAnX509IdentityInWhoAmIAndAcls(string keyStore, bool encryptedPemKey)
    {
        _certificates.Issue("server", "CN=localhost", encryptPemKey: encryptedPemKey);
        var client = _certificates.Issue("client", ClientSubject);
        var jks = keyStore.EndsWith(".jks", StringComparison.Ordinal);
        if (jks)
        {
            await _certificates.WriteJksAsync("server");
        }

        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(
            TlsConfig(securePort, keyStore, trustStore: jks ? _certificates.PathOf("trust.jks") : null));

        await using var session = await TlsSession.ConnectAsync(securePort, client, _certificates.Ca);
        var whoAmI = (WhoAmIResponse)(await session.CallAsync(OpCode.WhoAmI, _ => { })).Body!;
        Assert.Equal([("x509", ClientSubject), ("ip", "127.0.0.1")], whoAmI.Clients.Select(c => (c.AuthScheme, c.User)));

        // An ACL on that identity admits this session and no other.
        var acl = new List<Acl> { new(Perms.All, new Id("x509", ClientSubject)) };
        var created = await session.CallAsync(OpCode.Create, w => RequestCodec.WritePathRequest(w, OpCode.Create, new CreateRequest("/tls-only", [7], acl, 0, 0)));
        Assert.Equal(ErrorCode.Ok, created.Header.Err);
        var read = await session.CallAsync(OpCode.GetData, w => RequestCodec.WritePathRequest(w, OpCode.GetData, new PathWatchRequest("/tls-only", false)));
        Assert.Equal(ErrorCode.Ok, read.Header.Err);
        await using var plain = await RawSession.ConnectAsync(server.Port);
        var (header, _) = await plain.SendAsync(OpCode.GetData, new PathWatchRequest("/tls-only", false));
        Assert.Equal(ErrorCode.NoAuth, header.Err);
    }

    [Fact]
    public async Task BadTlsInputClosesOnlyThatConnection()
    {
        _certificates.Issue("server", "CN=localhost");
        var client = _certificates.Issue("client", ClientSubject);
        var stranger = _certificates.Issue("stranger", "CN=stranger", rogue: true);
        var expired = _certificates.Issue("expired", ClientSubject, expired: true);
        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(TlsConfig(securePort, "server.pem"));
        await using var healthy = await TlsSession.ConnectAsync(securePort, client, _certificates.Ca);

        // No certificate where one is needed; a certificate from a CA the server does not trust; an expired one.
        await Assert.ThrowsAnyAsync<Exception>(() => TlsSession.ConnectAsync(securePort, null, _certificates.Ca));
        await Assert.ThrowsAnyAsync<Exception>(() => TlsSession.ConnectAsync(securePort, stranger, _certificates.Ca));
        await Assert.ThrowsAnyAsync<Exception>(() => TlsSession.ConnectAsync(securePort, expired, _certificates.Ca));

        // A plain client on the TLS port, and a truncated TLS handshake.
        foreach (var bytes in new[] { HandshakeDifferentialTests_Frame(), new byte[] { 0x16, 0x03, 0x01, 0x00, 0x40, 0x01 } })
        {
            using var raw = new TcpClient();
            await raw.ConnectAsync("127.0.0.1", securePort);
            var stream = raw.GetStream();
            await stream.WriteAsync(bytes);
            Assert.True(await IsClosedByServerAsync(stream));
        }

        // A TLS client on the plain port gets no handshake.
        await Assert.ThrowsAnyAsync<Exception>(() => TlsSession.ConnectAsync(server.Port, client, _certificates.Ca));

        var ping = await healthy.CallAsync(OpCode.Exists, w => RequestCodec.WritePathRequest(w, OpCode.Exists, new PathWatchRequest("/zookeeper", false)));
        Assert.Equal(ErrorCode.Ok, ping.Header.Err);
        Assert.Contains("TLS handshake failed", server.Log);
    }

    /// <summary>
    /// ssl.crl=true, as Java's revocation checking: the CRL the certificates name (served here over
    /// HTTP on loopback) is fetched, a revoked client certificate is refused and logged, a good one works.
    /// </summary>
    [Fact]
    public async Task WithSslCrlARevokedClientCertificateIsRefused()
    {
        var crlPort = FreePort.Pick();
        var crlUrl = $"http://127.0.0.1:{crlPort}/ca.crl";
        _certificates.Issue("server", "CN=localhost", crlUrl: crlUrl);
        var good = _certificates.Issue("good", ClientSubject, crlUrl: crlUrl);
        var revoked = _certificates.Issue("revoked", "CN=revoked client,O=SharpKeeper", crlUrl: crlUrl);
        var crl = _certificates.RevocationList(revoked);
        using var http = new System.Net.HttpListener();
        http.Prefixes.Add($"http://127.0.0.1:{crlPort}/");
        http.Start();
        var fetches = 0;
        _ = Task.Run(async () =>
        {
            while (http.IsListening)
            {
                try
                {
                    var context = await http.GetContextAsync();
                    Interlocked.Increment(ref fetches);
                    context.Response.ContentType = "application/pkix-crl";
                    await context.Response.OutputStream.WriteAsync(crl);
                    context.Response.Close();
                }
                catch (Exception e) when (e is System.Net.HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }
        });

        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(TlsConfig(securePort, "server.pem", extra: "ssl.crl=true"));
        await Assert.ThrowsAnyAsync<Exception>(() => TlsSession.ConnectAsync(securePort, revoked, _certificates.Ca));
        await using var session = await TlsSession.ConnectAsync(securePort, good, _certificates.Ca);
        var whoAmI = (WhoAmIResponse)(await session.CallAsync(OpCode.WhoAmI, _ => { })).Body!;
        Assert.Contains(("x509", ClientSubject), whoAmI.Clients.Select(c => (c.AuthScheme, c.User)));
        Assert.True(fetches > 0, "the server never fetched the CRL");
        await EventuallyAsync(() => server.Log.Contains("Refused the client certificate CN=revoked client", StringComparison.Ordinal));
        Assert.Contains("Revoked", server.Log);
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task WithClientAuthWantACertificateIsOptional()
    {
        _certificates.Issue("server", "CN=localhost");
        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(TlsConfig(securePort, "server.p12", clientAuth: "want"));
        await using var session = await TlsSession.ConnectAsync(securePort, null, _certificates.Ca);
        var whoAmI = (WhoAmIResponse)(await session.CallAsync(OpCode.WhoAmI, _ => { })).Body!;
        Assert.Equal([("ip", "127.0.0.1")], whoAmI.Clients.Select(c => (c.AuthScheme, c.User)));
    }

    /// <summary>client.certReload (Apache 3.9): a renewed key store is served to new connections without a restart.</summary>
    [Fact]
    public async Task WithCertReloadARenewedCertificateIsServedWithoutARestart()
    {
        _certificates.Issue("server", "CN=localhost");
        var client = _certificates.Issue("client", ClientSubject);
        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(TlsConfig(securePort, "server.pem", extra: "client.certReload=true"));
        Assert.Equal("CN=localhost", await ServerSubjectAsync(securePort, client));

        _certificates.Issue("server", "CN=localhost,O=Renewed");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string subject;
        while ((subject = await ServerSubjectAsync(securePort, client)) != "CN=localhost, O=Renewed" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal("CN=localhost, O=Renewed", subject);

        // The console logger writes on its own thread: the line may follow the handshake that caused it.
        await EventuallyAsync(() => server.Log.Contains("Reloaded the key store", StringComparison.Ordinal));
    }

    /// <summary>The subject of the certificate the server presents to a new TLS connection.</summary>
    private async Task<string> ServerSubjectAsync(int port, X509Certificate2 client)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var stream = new SslStream(tcp.GetStream());
        string? subject = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await stream.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = [client],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    subject = certificate?.Subject;
                    return true;
                },
            },
            timeout.Token);
        return subject ?? "";
    }

    /// <summary>client.portUnification: TLS and plain clients on the one client port, told apart by their first byte.</summary>
    [Fact]
    public async Task WithPortUnificationThePlainPortTakesTlsClientsToo()
    {
        _certificates.Issue("server", "CN=localhost");
        var client = _certificates.Issue("client", ClientSubject);
        var config = TlsConfig(0, "server.p12").Replace("secureClientPort=0", "client.portUnification=true", StringComparison.Ordinal)
            .Replace("secureClientPortAddress=127.0.0.1", "", StringComparison.Ordinal);
        await using var server = await SharpKeeperProcess.StartAsync(config);

        await using var secure = await TlsSession.ConnectAsync(server.Port, client, _certificates.Ca);
        var whoAmI = (WhoAmIResponse)(await secure.CallAsync(OpCode.WhoAmI, _ => { })).Body!;
        Assert.Equal(("x509", ClientSubject), (whoAmI.Clients[0].AuthScheme, whoAmI.Clients[0].User));
        await using var plain = await RawSession.ConnectAsync(server.Port);
        Assert.NotEqual(0, plain.SessionId);
        Assert.Equal("imok", await FourLetter.SendAsync(server.Port, "ruok"));
    }

    /// <summary>X509AuthenticationProvider.superUser: that certificate's sessions are super (listed first, as Apache adds it).</summary>
    [Fact]
    public async Task TheSuperUsersCertificateIsSuper()
    {
        _certificates.Issue("server", "CN=localhost");
        var client = _certificates.Issue("client", ClientSubject);
        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(TlsConfig(securePort, "server.p12", extra: $"X509AuthenticationProvider.superUser={ClientSubject}"));
        await using var plain = await RawSession.ConnectAsync(server.Port);
        var acl = new List<Acl> { new(Perms.All, new Id("digest", "nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAA=")) };
        var (created, _) = await plain.SendAsync(OpCode.Create, new CreateRequest("/locked", [1], acl, 0, 0));
        Assert.Equal(ErrorCode.Ok, created.Err);

        await using var session = await TlsSession.ConnectAsync(securePort, client, _certificates.Ca);
        var whoAmI = (WhoAmIResponse)(await session.CallAsync(OpCode.WhoAmI, _ => { })).Body!;
        Assert.Equal([("super", ClientSubject), ("x509", ClientSubject), ("ip", "127.0.0.1")], whoAmI.Clients.Select(c => (c.AuthScheme, c.User)));
        var read = await session.CallAsync(OpCode.GetData, w => RequestCodec.WritePathRequest(w, OpCode.GetData, new PathWatchRequest("/locked", false)));
        Assert.Equal(ErrorCode.Ok, read.Header.Err);
    }

    [Theory]
    [InlineData("missing.pem", "", "ssl.keyStore.location", "cannot read the PEM key store")]
    [InlineData("server.jks", "", "ssl.keyStore.location", "cannot read the JKS key store")]
    [InlineData("server.bin", "", "ssl.keyStore.location", "cannot tell the store type")]
    [InlineData("server.p12", "ssl.enabledProtocols=TLSv1.1", "ssl.enabledProtocols", "TLSv1.1 is not supported")]
    [InlineData("server.p12", "ssl.clientAuth=maybe", "ssl.clientAuth", "is not none, want or need")]
    public async Task AnUnusableTlsSettingStopsTheStartNamingTheKey(string keyStore, string extra, string key, string message)
    {
        _certificates.Issue("server", "CN=localhost");
        File.WriteAllText(_certificates.PathOf("server.jks"), "not really");
        File.WriteAllText(_certificates.PathOf("server.bin"), "not really");
        var directory = Directory.CreateTempSubdirectory("sharpkeeper-tls-cfg-").FullName;
        try
        {
            var config = Path.Combine(directory, "zoo.cfg");
            var body = TlsConfig(FreePort.Pick(), keyStore).Replace("ssl.clientAuth=need", "", StringComparison.Ordinal);
            File.WriteAllText(config, $"dataDir={directory}/data\nclientPort={FreePort.Pick()}\nclientPortAddress=127.0.0.1\n{body}\n{extra}\n");
            var result = await ProcessRunner.RunAsync("dotnet", [RepoPaths.SharpKeeperDll, "start-foreground", config], TimeSpan.FromSeconds(60));
            Assert.False(result.TimedOut, result.Output);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains($"{key}: ", result.Output);
            Assert.Contains(message, result.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Apache's Java client (ZooKeeperMain, zookeeper.client.secure=true with a PKCS12 client
    /// certificate and a PEM trust store) over TLS to Apache 3.8 and to SharpKeeper, configured alike:
    /// whoami prints the same identities on both. (Apache listed the two in both orders in
    /// this project's runs, so they are compared as sets; SharpKeeper lists x509 first.)
    /// </summary>
    [Fact]
    public async Task TheJavaClientOverTlsSeesTheSameIdentitiesOnApacheAndSharpKeeper()
    {
        _certificates.Issue("server", "CN=localhost");
        _certificates.Issue("client", ClientSubject);
        var sharpPort = FreePort.Pick();
        var apachePort = FreePort.Pick();
        await using var sharp = await SharpKeeperProcess.StartAsync(TlsConfig(sharpPort, "server.p12"));
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: TlsConfig(apachePort, "server.p12"));

        var onApache = await JavaWhoAmIAsync(apachePort);
        var onSharp = await JavaWhoAmIAsync(sharpPort);
        Assert.Equal(["ip: 127.0.0.1", $"x509: {ClientSubject}"], onApache.Order());
        Assert.Equal(onApache.Order(), onSharp.Order());
    }

    private async Task<List<string>> JavaWhoAmIAsync(int securePort)
    {
        var result = await ProcessRunner.RunAsync(
            "java",
            [
                "-cp", ApacheZooKeeperProcess.ClientClasspath,
                "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty", "-Dzookeeper.client.secure=true",
                $"-Dzookeeper.ssl.keyStore.location={_certificates.PathOf("client.p12")}", $"-Dzookeeper.ssl.keyStore.password={TestCertificates.StorePassword}",
                $"-Dzookeeper.ssl.trustStore.location={_certificates.CaPem}",
                "org.apache.zookeeper.ZooKeeperMain", "-server", $"127.0.0.1:{securePort}", "whoami",
            ],
            TimeSpan.FromMinutes(1));
        Assert.False(result.TimedOut, result.Output);
        return [.. result.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("x509:", StringComparison.Ordinal) || l.StartsWith("ip:", StringComparison.Ordinal))];
    }

    /// <summary>python3-kazoo, unchanged, over TLS with a client certificate: CRUD and an x509 ACL.</summary>
    [Fact]
    public async Task KazooWorksOverTls()
    {
        _certificates.Issue("server", "CN=localhost");
        _certificates.Issue("client", ClientSubject);
        var securePort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync(TlsConfig(securePort, "server.pem"));
        var result = await ProcessRunner.RunAsync(
            "/usr/bin/python3",
            [
                Path.Combine(RepoPaths.Compat, "kazoo_tls.py"), "--server", $"127.0.0.1:{securePort}",
                "--ca", _certificates.CaPem, "--cert", _certificates.PathOf("client.crt"), "--key", _certificates.PathOf("client.key"),
                "--subject", ClientSubject,
            ],
            TimeSpan.FromMinutes(2));
        Assert.False(result.TimedOut, result.Output);
        Assert.True(result.ExitCode == 0, $"{result.Output}\n--- server log ---\n{server.Log}");
        Assert.Contains("0 failed", result.Output);
    }

    /// <summary>Reads until the server closes the connection (true) or 15 s pass (false).</summary>
    private static async Task<bool> IsClosedByServerAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static byte[] HandshakeDifferentialTests_Frame() =>
        Differential.HandshakeDifferentialTests.Frame(w => new ConnectRequest(0, 0, 30000, 0, new byte[16], false).Write(w));

    /// <summary>A session over TLS, one request at a time.</summary>
    internal sealed class TlsSession : IAsyncDisposable
    {
        private readonly TcpClient _client;
        private readonly SslStream _stream;
        private int _xid;

        public long SessionId { get; private set; }

        private TlsSession(TcpClient client, SslStream stream)
        {
            _client = client;
            _stream = stream;
        }

        public static async Task<TlsSession> ConnectAsync(int port, X509Certificate2? certificate, X509Certificate2 ca)
        {
            var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync("127.0.0.1", port);
            var stream = new SslStream(client.GetStream());
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await stream.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = "localhost",
                        ClientCertificates = certificate is null ? null : [certificate],
                        RemoteCertificateValidationCallback = (_, server, _, _) => server is not null && ChainsTo(server, ca),
                    },
                    timeout.Token);
                var session = new TlsSession(client, stream);
                await stream.WriteAsync(Differential.HandshakeDifferentialTests.Frame(w => new ConnectRequest(0, 0, 30000, 0, new byte[16], false).Write(w)), timeout.Token);
                var reply = await session.ReadFrameAsync(timeout.Token) ?? throw new IOException("closed during the session handshake");
                var r = new JuteReader(reply);
                session.SessionId = ConnectResponse.Read(ref r).SessionId;
                if (session.SessionId == 0)
                {
                    throw new IOException("session refused");
                }

                return session;
            }
            catch
            {
                await stream.DisposeAsync();
                client.Dispose();
                throw;
            }
        }

        public async Task<(ReplyHeader Header, Response? Body)> CallAsync(OpCode op, Action<JuteWriter> body)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var xid = ++_xid;
            await _stream.WriteAsync(Differential.HandshakeDifferentialTests.Frame(w =>
            {
                new RequestHeader(xid, op).Write(w);
                body(w);
            }), timeout.Token);
            var frame = await ReadFrameAsync(timeout.Token) ?? throw new IOException("connection closed");
            var r = new JuteReader(frame);
            var header = ReplyHeader.Read(ref r);
            return (header, header.Err == ErrorCode.Ok && !r.AtEnd ? ResponseCodec.Read(op, ref r) : null);
        }

        private async Task<byte[]?> ReadFrameAsync(CancellationToken cancellationToken)
        {
            var prefix = new byte[4];
            try
            {
                await _stream.ReadExactlyAsync(prefix, cancellationToken);
                var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
                await _stream.ReadExactlyAsync(frame, cancellationToken);
                return frame;
            }
            catch (EndOfStreamException)
            {
                return null;
            }
        }

        private static bool ChainsTo(X509Certificate server, X509Certificate2 ca)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(server.GetRawCertData()));
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            _client.Dispose();
        }
    }
}
