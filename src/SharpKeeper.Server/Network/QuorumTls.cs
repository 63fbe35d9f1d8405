using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Network;

/// <summary>
/// TLS between servers, from zoo.cfg's ssl.quorum.* settings, as Apache's QuorumX509Util runs it:
/// every server shows its certificate both when it accepts and when it connects, each side checks
/// the other's chain against its trust store, and with ssl.quorum.hostnameVerification (default on)
/// that the certificate names the peer: its IP address, else the host name of its server line,
/// else the name its IP resolves to (Apache's ZKTrustManager order).
/// </summary>
public sealed class QuorumTls(TlsSettings settings, ILogger logger, RateLimitedWarnings warnings)
{
    private readonly TlsMaterial _material = new(settings, logger);

    /// <summary>For a connection this server accepted from <paramref name="remote"/>.</summary>
    public SslServerAuthenticationOptions ServerOptions(EndPoint? remote) =>
        _material.ServerOptions((certificate, chain, errors) => Verify(certificate, chain, errors, remote, configuredHost: null));

    /// <summary>For a connection this server opened to <paramref name="host"/> (as its server line names it), now connected to <paramref name="remote"/>.</summary>
    public SslClientAuthenticationOptions ClientOptions(string host, EndPoint? remote)
    {
        var certificate = _material.Certificate;
        return new SslClientAuthenticationOptions
        {
            TargetHost = host,
            ClientCertificateContext = certificate,
            EnabledSslProtocols = _material.Protocols,
            CipherSuitesPolicy = _material.CipherSuites,
            CertificateRevocationCheckMode = _material.RevocationMode,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = (_, peer, chain, errors) =>
                peer is not null && Verify(peer, chain, errors, remote, host),
        };
    }

    private bool Verify(X509Certificate certificate, X509Chain? chain, SslPolicyErrors errors, EndPoint? remote, string? configuredHost)
    {
        if (!_material.IsTrusted(certificate, chain, errors, out var problem))
        {
            if (warnings.ShouldLog("untrusted quorum certificate", SourceOf(remote)))
            {
                logger.LogWarning(
                    "TLS peer {Remote} shows a certificate ({Subject}) that does not chain to the quorum trust store or is revoked: {Problem}",
                    remote, certificate.Subject, problem);
            }

            return false;
        }

        if (!settings.HostnameVerification || NamesPeer(TlsMaterial.AsCertificate2(certificate), remote, configuredHost))
        {
            return true;
        }

        if (warnings.ShouldLog("quorum certificate names another host", SourceOf(remote)))
        {
            logger.LogWarning(
                "TLS peer {Remote} shows a certificate ({Subject}) that names neither its address nor its host name (ssl.quorum.hostnameVerification)",
                remote, certificate.Subject);
        }

        return false;
    }

    private static string SourceOf(EndPoint? remote) => (remote as IPEndPoint)?.Address.ToString() ?? remote?.ToString() ?? "?";

    /// <summary>The peer's IP, then the host its server line names, then the name its IP resolves to.</summary>
    public static bool NamesPeer(X509Certificate2 certificate, EndPoint? remote, string? configuredHost)
    {
        var address = (remote as IPEndPoint)?.Address;
        if (address is { IsIPv4MappedToIPv6: true })
        {
            address = address.MapToIPv4();
        }

        if (address is not null && certificate.MatchesHostname(address.ToString(), allowWildcards: true, allowCommonName: true))
        {
            return true;
        }

        if (configuredHost is { Length: > 0 } && !IPAddress.TryParse(configuredHost, out _)
            && certificate.MatchesHostname(configuredHost, allowWildcards: true, allowCommonName: true))
        {
            return true;
        }

        if (address is null)
        {
            return false;
        }

        try
        {
            var name = Dns.GetHostEntry(address).HostName;
            return name.Length > 0 && certificate.MatchesHostname(name, allowWildcards: true, allowCommonName: true);
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
