using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Network;

/// <summary>
/// What one set of ssl.* (or ssl.quorum.*) settings gives a TLS endpoint: this server's certificate
/// with its chain, the certificates a peer's chain must end in, the protocols and the cipher suites.
/// With reloading on, the store files are looked at (at most once a second, when a connection opens)
/// and read again when they change; a store that fails to load keeps the previous one.
/// </summary>
public sealed class TlsMaterial
{
    private static readonly TimeSpan ReloadCheckInterval = TimeSpan.FromSeconds(1);
    private readonly TlsSettings _settings;
    private readonly ILogger _logger;
    private readonly Lock _reloadGate = new();
    private SslStreamCertificateContext _certificate;
    private X509Certificate2Collection? _trusted;
    private (DateTime, long) _keyStoreVersion;
    private (DateTime, long) _trustStoreVersion;
    private long _nextReloadCheck;

    public TlsMaterial(TlsSettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
        (_certificate, _keyStoreVersion) = LoadCertificate(settings.KeyStore);
        (_trusted, _trustStoreVersion) = LoadTrusted(settings.TrustStore);
        Protocols = ParseProtocols(settings);
        CipherSuites = ParseCipherSuites(settings);
    }

    public TlsSettings Settings => _settings;

    public SslProtocols Protocols { get; }

    public CipherSuitesPolicy? CipherSuites { get; }

    /// <summary>This server's certificate and chain, as they are now (read again first when the files changed and reloading is on).</summary>
    public SslStreamCertificateContext Certificate
    {
        get
        {
            if (_settings.ReloadOnChange)
            {
                ReloadIfChanged();
            }

            return Volatile.Read(ref _certificate);
        }
    }

    private static (SslStreamCertificateContext, (DateTime, long)) LoadCertificate(StoreSettings store)
    {
        var version = VersionOf(store.Location);
        var (certificate, chain) = CertificateStores.LoadKeyStore(store);
        return (SslStreamCertificateContext.Create(certificate, chain, offline: true), version);
    }

    private static (X509Certificate2Collection?, (DateTime, long)) LoadTrusted(StoreSettings? store) =>
        store is null ? (null, default) : (CertificateStores.LoadTrustStore(store), VersionOf(store.Location));

    private static (DateTime, long) VersionOf(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? (file.LastWriteTimeUtc, file.Length) : default;
    }

    private void ReloadIfChanged()
    {
        var now = Environment.TickCount64;
        lock (_reloadGate)
        {
            if (now < _nextReloadCheck)
            {
                return;
            }

            _nextReloadCheck = now + (long)ReloadCheckInterval.TotalMilliseconds;
            try
            {
                if (VersionOf(_settings.KeyStore.Location) != _keyStoreVersion)
                {
                    (var context, _keyStoreVersion) = LoadCertificate(_settings.KeyStore);
                    Volatile.Write(ref _certificate, context);
                    _logger.LogInformation("Reloaded the key store {File}: serving {Subject}", _settings.KeyStore.Location, context.TargetCertificate.Subject);
                }

                if (_settings.TrustStore is { } trustStore && VersionOf(trustStore.Location) != _trustStoreVersion)
                {
                    (var trusted, _trustStoreVersion) = LoadTrusted(trustStore);
                    Volatile.Write(ref _trusted, trusted);
                    _logger.LogInformation("Reloaded the trust store {File}", trustStore.Location);
                }
            }
            catch (ConfigException e)
            {
                _logger.LogWarning("Keeping the previous TLS stores: {Message}", e.Message);
            }
        }
    }

    /// <summary>
    /// A server side's handshake options: this certificate, a client certificate asked for unless
    /// clientAuth is none, and accepted when absent only when clientAuth is not need. A presented
    /// certificate is accepted with clientAuth none, else when <paramref name="verifyPresented"/> says so.
    /// </summary>
    public SslServerAuthenticationOptions ServerOptions(Func<X509Certificate, X509Chain?, SslPolicyErrors, bool> verifyPresented) => new()
    {
        ServerCertificateContext = Certificate,
        ClientCertificateRequired = _settings.ClientAuth != ClientAuthMode.None,
        EnabledSslProtocols = Protocols,
        CipherSuitesPolicy = CipherSuites,
        CertificateRevocationCheckMode = RevocationMode,
        AllowRenegotiation = false,
        RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            certificate is null
                ? _settings.ClientAuth != ClientAuthMode.Need
                : _settings.ClientAuth == ClientAuthMode.None || verifyPresented(certificate, chain, errors),
    };

    /// <summary>A TLS record of type handshake (22) opens a TLS session; no plain client or server frame starts with it.</summary>
    private const byte TlsHandshakeRecord = 0x16;

    /// <summary>Looks at a connection's first byte without taking it (port unification): true when it starts a TLS handshake; false when it does not, or none comes.</summary>
    public static async Task<bool> StartsTlsAsync(Socket socket, CancellationToken cancellationToken)
    {
        var first = new byte[1];
        try
        {
            var read = await socket.ReceiveAsync(first, SocketFlags.Peek, cancellationToken).ConfigureAwait(false);
            return read == 1 && first[0] == TlsHandshakeRecord;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>The revocation check a handshake's own chain building makes (the callback decides with <see cref="IsTrusted"/>).</summary>
    public X509RevocationMode RevocationMode => _settings.CheckRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck;

    /// <summary>
    /// True when the peer's certificate chains to the trust store (or, with none set, to the
    /// system's roots) and, with revocation checking on, neither it nor an intermediate is revoked
    /// (or of unknown status). Name checks are the caller's. <paramref name="problem"/> says why not.
    /// </summary>
    public bool IsTrusted(X509Certificate certificate, X509Chain? chain, SslPolicyErrors errors, out string problem)
    {
        var trusted = Volatile.Read(ref _trusted);
        using var custom = new X509Chain();
        if (trusted is null)
        {
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.System;
        }
        else
        {
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(trusted);
        }

        custom.ChainPolicy.RevocationMode = RevocationMode;
        custom.ChainPolicy.RevocationFlag = X509RevocationFlag.ExcludeRoot;
        custom.ChainPolicy.UrlRetrievalTimeout = TimeSpan.FromSeconds(5);
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (custom.Build(AsCertificate2(certificate)))
        {
            problem = "";
            return true;
        }

        var statuses = custom.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}").Distinct();
        problem = string.Join("; ", statuses) is { Length: > 0 } text ? text : $"the chain does not build ({errors})";
        return false;
    }

    public static X509Certificate2 AsCertificate2(X509Certificate certificate) =>
        certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());

    private static SslProtocols ParseProtocols(TlsSettings settings)
    {
        var protocols = SslProtocols.None;
        foreach (var name in settings.Protocols)
        {
            protocols |= name switch
            {
                "TLSv1.2" => SslProtocols.Tls12,
                "TLSv1.3" => SslProtocols.Tls13,
                "TLS" => SslProtocols.Tls12 | SslProtocols.Tls13,
                _ => throw settings.ProtocolsSource!.Error($"protocol {name} is not supported: use TLSv1.2 or TLSv1.3"),
            };
        }

        // ssl.protocol (or ssl.quorum.protocol) = TLSv1.3 alone still lets TLSv1.2 peers in, as
        // Apache's default enabled protocols do; ssl.enabledProtocols means exactly what it lists.
        if (settings.ProtocolsSource is { Key: var key } && key.EndsWith(".protocol", StringComparison.Ordinal) && protocols == SslProtocols.Tls13)
        {
            protocols |= SslProtocols.Tls12;
        }

        return protocols;
    }

    private static CipherSuitesPolicy? ParseCipherSuites(TlsSettings settings)
    {
        if (settings.CipherSuites.Count == 0)
        {
            return null;
        }

        var suites = new List<TlsCipherSuite>();
        foreach (var name in settings.CipherSuites)
        {
            if (!Enum.TryParse<TlsCipherSuite>(name, out var suite))
            {
                throw settings.CipherSuitesSource!.Error($"unknown cipher suite {name}");
            }

            suites.Add(suite);
        }

        if (OperatingSystem.IsWindows())
        {
            throw settings.CipherSuitesSource!.Error("cannot choose cipher suites on Windows: remove it");
        }

        return new CipherSuitesPolicy(suites);
    }
}
