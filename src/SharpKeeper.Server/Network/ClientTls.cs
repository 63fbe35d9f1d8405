using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Network;

/// <summary>
/// TLS on the secure client port, from zoo.cfg's ssl.* settings: the server certificate, which
/// client certificates are accepted (chained to the trust store, when ssl.clientAuth asks for one),
/// the protocols and cipher suites. A client certificate's subject becomes an id of the x509 scheme
/// (ssl.authProvider), as Apache's X509AuthenticationProvider makes it, usable in ACLs and shown by whoAmI.
/// With client.certReload the store files are looked at (at most once a second, when a client
/// connects) and read again when they change; a store that fails to load keeps the previous one.
/// </summary>
public sealed class ClientTls
{
    private static readonly TimeSpan ReloadCheckInterval = TimeSpan.FromSeconds(1);
    private readonly TlsSettings _settings;
    private readonly ILogger _logger;
    private readonly Lock _reloadGate = new();
    private SslStreamCertificateContext _serverCertificate;
    private X509Certificate2Collection? _trusted;
    private (DateTime, long) _keyStoreVersion;
    private (DateTime, long) _trustStoreVersion;
    private long _nextReloadCheck;

    public ClientTls(TlsSettings settings, ILogger? logger = null)
    {
        _settings = settings;
        _logger = logger ?? NullLogger.Instance;
        (_serverCertificate, _keyStoreVersion) = LoadServerCertificate(settings.KeyStore);
        (_trusted, _trustStoreVersion) = LoadTrusted(settings.TrustStore);
        Protocols = ParseProtocols(settings);
        CipherSuites = ParseCipherSuites(settings);
    }

    public TlsSettings Settings => _settings;

    public SslProtocols Protocols { get; }

    public CipherSuitesPolicy? CipherSuites { get; }

    public SslServerAuthenticationOptions ServerOptions()
    {
        if (_settings.ReloadOnChange)
        {
            ReloadIfChanged();
        }

        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = Volatile.Read(ref _serverCertificate),
            ClientCertificateRequired = _settings.ClientAuth != ClientAuthMode.None,
            EnabledSslProtocols = Protocols,
            CipherSuitesPolicy = CipherSuites,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = ValidateClient,
        };
    }

    private static (SslStreamCertificateContext, (DateTime, long)) LoadServerCertificate(StoreSettings store)
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

    /// <summary>Reads a store again when its file's time or size changed; on a failure the old one stays.</summary>
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
                    (var context, _keyStoreVersion) = LoadServerCertificate(_settings.KeyStore);
                    Volatile.Write(ref _serverCertificate, context);
                    _logger.LogInformation("Reloaded the key store {File}: serving {Subject}", _settings.KeyStore.Location, context.TargetCertificate.Subject);
                }

                if (_settings.TrustStore is { } trustStore && VersionOf(trustStore.Location) != _trustStoreVersion)
                {
                    (var trusted, _trustStoreVersion) = LoadTrusted(trustStore);
                    Volatile.Write(ref _trusted, trusted);
                    _logger.LogInformation("Reloaded the trust store {File}", trustStore.Location);
                }
            }
            catch (Config.ConfigException e)
            {
                _logger.LogWarning("Keeping the previous TLS stores: {Message}", e.Message);
            }
        }
    }

    /// <summary>
    /// Accepts a client certificate that chains to the trust store (or to the system's roots when
    /// none is set), and no certificate at all only when ssl.clientAuth is not need.
    /// </summary>
    private bool ValidateClient(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return _settings.ClientAuth != ClientAuthMode.Need;
        }

        if (_settings.ClientAuth == ClientAuthMode.None)
        {
            return true;
        }

        var trusted = Volatile.Read(ref _trusted);
        if (trusted is null)
        {
            return (errors & ~SslPolicyErrors.RemoteCertificateNotAvailable) == SslPolicyErrors.None;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(trusted);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    /// <summary>
    /// The ids a verified client certificate authenticates the connection as: its subject in
    /// RFC 2253 form (as Java's X500Principal.getName() writes it), and super when it is the configured super user.
    /// </summary>
    public IReadOnlyList<Id> IdentitiesOf(X509Certificate? certificate)
    {
        if (certificate is null || _settings.ClientAuth == ClientAuthMode.None)
        {
            return [];
        }

        var subject = Rfc2253Name((certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())).SubjectName);
        // As Apache's X509AuthenticationProvider: the super id first, then the certificate's.
        return _settings.SuperUser is { } super && super == subject
            ? [new Id(Auth.AuthProviders.Super, subject), new Id(_settings.AuthScheme, subject)]
            : [new Id(_settings.AuthScheme, subject)];
    }

    /// <summary>Most specific RDN first, separated by commas without spaces, as RFC 2253 writes a name.</summary>
    public static string Rfc2253Name(X500DistinguishedName name) =>
        name.Decode(X500DistinguishedNameFlags.UseCommas | X500DistinguishedNameFlags.Reversed | X500DistinguishedNameFlags.DoNotUseQuotes)
            .Replace(", ", ",", StringComparison.Ordinal);

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

        // ssl.protocol=TLSv1.3 alone still lets TLSv1.2 clients in, as Apache's default enabled protocols do.
        if (settings.ProtocolsSource is { Key: "ssl.protocol" or "zookeeper.ssl.protocol" } && protocols == SslProtocols.Tls13)
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
