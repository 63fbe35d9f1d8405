using System.Net.Security;
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
/// With client.certReload the store files are read again when they change (<see cref="TlsMaterial"/>).
/// </summary>
public sealed class ClientTls
{
    private readonly TlsMaterial _material;
    private readonly ILogger _logger;
    private readonly RateLimitedWarnings _warnings;

    public ClientTls(TlsSettings settings, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _material = new TlsMaterial(settings, _logger);
        _warnings = new RateLimitedWarnings(_logger, TimeSpan.FromMinutes(1));
    }

    public TlsSettings Settings => _material.Settings;

    public SslServerAuthenticationOptions ServerOptions() => _material.ServerOptions(IsTrusted);

    /// <summary>A presented client certificate must chain to the trust store (or to the system's roots when none is set).</summary>
    private bool IsTrusted(X509Certificate certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_material.IsTrusted(certificate, chain, errors, out var problem))
        {
            return true;
        }

        if (_warnings.ShouldLog("client certificate refused", certificate.Subject))
        {
            _logger.LogWarning("Refused the client certificate {Subject}: {Problem}", certificate.Subject, problem);
        }

        return false;
    }

    /// <summary>
    /// The ids a verified client certificate authenticates the connection as: its subject in
    /// RFC 2253 form (as Java's X500Principal.getName() writes it), and super when it is the configured super user.
    /// </summary>
    public IReadOnlyList<Id> IdentitiesOf(X509Certificate? certificate)
    {
        if (certificate is null || Settings.ClientAuth == ClientAuthMode.None || Settings.AuthScheme is not { } scheme)
        {
            return [];
        }

        var subject = Rfc2253Name(TlsMaterial.AsCertificate2(certificate).SubjectName);
        // As Apache's X509AuthenticationProvider: the super id first, then the certificate's.
        return Settings.SuperUser is { } super && super == subject
            ? [new Id(Auth.AuthProviders.Super, subject), new Id(scheme, subject)]
            : [new Id(scheme, subject)];
    }

    /// <summary>Most specific RDN first, separated by commas without spaces, as RFC 2253 writes a name.</summary>
    public static string Rfc2253Name(X500DistinguishedName name) =>
        name.Decode(X500DistinguishedNameFlags.UseCommas | X500DistinguishedNameFlags.Reversed | X500DistinguishedNameFlags.DoNotUseQuotes)
            .Replace(", ", ",", StringComparison.Ordinal);
}
