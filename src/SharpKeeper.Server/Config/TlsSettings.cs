namespace SharpKeeper.Server.Config;

/// <summary>How a client must show a certificate on the secure client port (ssl.clientAuth).</summary>
public enum ClientAuthMode
{
    None,
    Want,
    Need,
}

/// <summary>Where a setting was written, so that an error found later (a store that cannot be read) names the file, the line and the key.</summary>
public sealed record ConfigSource(string File, int Line, string Key)
{
    public ConfigException Error(string message, Exception? inner = null) => new(File, Line, Key, message, inner);
}

/// <summary>
/// A key or trust store as zoo.cfg names it: the file, its password (given or read from
/// passwordPath) and its type (given, or guessed from the file name as Apache does). <see cref="Source"/>
/// is the location's line, for errors that name the file, the line and the key.
/// </summary>
public sealed record StoreSettings(string Location, string? Password, string? Type, ConfigSource Source);

/// <summary>One TLS endpoint's settings: the secure client port's (Apache's ssl.* keys) or the quorum's (ssl.quorum.*), also as zookeeper.-prefixed properties.</summary>
public sealed record TlsSettings
{
    public required StoreSettings KeyStore { get; init; }

    public StoreSettings? TrustStore { get; init; }

    public ClientAuthMode ClientAuth { get; init; } = ClientAuthMode.Need;

    /// <summary>ssl.enabledProtocols (or ssl.protocol): TLSv1.2, TLSv1.3; empty for the platform's defaults.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>ssl.ciphersuites, by their IANA names; empty for the platform's defaults.</summary>
    public IReadOnlyList<string> CipherSuites { get; init; } = [];

    /// <summary>
    /// Check that the peer's certificate names the address it connects from or to (its IP, else
    /// the name the IP resolves to), as Apache's ZKTrustManager; used between servers, where
    /// both sides check (ssl.quorum.hostnameVerification, default true).
    /// </summary>
    public bool HostnameVerification { get; init; } = true;

    /// <summary>
    /// Check that the peer's certificate (and its intermediates) are not revoked, online from the
    /// CRL distribution points and OCSP responders the certificates name (PREFIX.crl or PREFIX.ocsp,
    /// as Java's revocation checking with CRLDP and OCSP enabled); a certificate whose status cannot
    /// be learned is refused.
    /// </summary>
    public bool CheckRevocation { get; init; }

    /// <summary>Reload the stores when their files change (client.certReload, as Apache 3.9).</summary>
    public bool ReloadOnChange { get; init; }

    /// <summary>The auth scheme a client certificate's subject is an id of (ssl.authProvider, default x509); null when its provider is not configured.</summary>
    public string? AuthScheme { get; init; } = "x509";

    /// <summary>A certificate subject that authenticates as super (X509AuthenticationProvider.superUser).</summary>
    public string? SuperUser { get; init; }

    /// <summary>The ssl.enabledProtocols (or ssl.protocol) and ssl.ciphersuites lines, when given.</summary>
    public ConfigSource? ProtocolsSource { get; init; }

    public ConfigSource? CipherSuitesSource { get; init; }
}
