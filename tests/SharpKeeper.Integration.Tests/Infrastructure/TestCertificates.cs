using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>
/// A throwaway certificate authority and the certificates TLS tests need, written as the files an
/// operator would have: PEM (certificate chain and PKCS#8 key in one file) and PKCS12, plus the CA as
/// a PEM trust store. ECDSA P-256 keys, valid for a day, for 127.0.0.1 and localhost.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public const string StorePassword = "changeit";

    private TestCertificates(string directory, X509Certificate2 ca, X509Certificate2 rogueCa)
    {
        Directory = directory;
        Ca = ca;
        RogueCa = rogueCa;
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    /// <summary>A second CA the server does not trust.</summary>
    public X509Certificate2 RogueCa { get; }

    public string CaPem => Path.Combine(Directory, "ca.pem");

    public static TestCertificates Create()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("sharpkeeper-tls-").FullName;
        var ca = CreateCa("CN=SharpKeeper Test CA,O=SharpKeeper");
        var rogue = CreateCa("CN=Rogue CA");
        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());
        return new TestCertificates(directory, ca, rogue);
    }

    /// <summary>
    /// A certificate signed by the CA (or the rogue one), with its key; written as NAME.pem (chain and
    /// key, the key encrypted with <see cref="StorePassword"/> when asked) and NAME.p12.
    /// </summary>
    /// <param name="dnsNames">The DNS names the certificate is for; with <paramref name="ipAddresses"/>, replaces 127.0.0.1 and localhost.</param>
    public X509Certificate2 Issue(
        string name, string subject, bool rogue = false, bool encryptPemKey = false, bool expired = false,
        IReadOnlyList<string>? dnsNames = null, IReadOnlyList<IPAddress>? ipAddresses = null, string? crlUrl = null)
    {
        var issuer = rogue ? RogueCa : Ca;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var address in ipAddresses ?? [IPAddress.Loopback])
        {
            names.AddIpAddress(address);
        }

        foreach (var dnsName in dnsNames ?? ["localhost"])
        {
            names.AddDnsName(dnsName);
        }

        request.CertificateExtensions.Add(names.Build());
        if (crlUrl is not null)
        {
            request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension([crlUrl]));
        }
        var serial = RandomNumberGenerator.GetBytes(12);
        var (notBefore, notAfter) = expired
            ? (DateTimeOffset.UtcNow.AddMinutes(-4), DateTimeOffset.UtcNow.AddMinutes(-1))
            : (DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        using var issued = request.Create(issuer, notBefore, notAfter, serial);
        var withKey = issued.CopyWithPrivateKey(key);

        var pemKey = encryptPemKey
            ? key.ExportEncryptedPkcs8PrivateKeyPem(StorePassword, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10000))
            : key.ExportPkcs8PrivateKeyPem();
        File.WriteAllText(Path.Combine(Directory, name + ".pem"), withKey.ExportCertificatePem() + "\n" + issuer.ExportCertificatePem() + "\n" + pemKey + "\n");
        File.WriteAllText(Path.Combine(Directory, name + ".crt"), withKey.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(Directory, name + ".key"), key.ExportPkcs8PrivateKeyPem() + "\n");
        var pkcs12 = withKey.Export(X509ContentType.Pkcs12, StorePassword);
        File.WriteAllBytes(Path.Combine(Directory, name + ".p12"), pkcs12);

        // Round-tripped through PKCS12 so that SslStream can use the key on any platform.
        return X509CertificateLoader.LoadPkcs12(pkcs12, StorePassword, X509KeyStorageFlags.Exportable);
    }

    public string PathOf(string file) => Path.Combine(Directory, file);

    /// <summary>The CA's certificate revocation list (DER), naming the certificates given as revoked.</summary>
    public byte[] RevocationList(params X509Certificate2[] revoked)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-1));
        }

        return builder.Build(Ca, 1, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256);
    }

    /// <summary>NAME.jks from NAME.p12, and trust.jks holding the CA, written by the JDK's keytool as an operator's would be.</summary>
    public async Task WriteJksAsync(string name)
    {
        await KeytoolAsync("-importkeystore", "-srckeystore", PathOf(name + ".p12"), "-srcstoretype", "PKCS12", "-srcstorepass", StorePassword,
            "-destkeystore", PathOf(name + ".jks"), "-deststoretype", "JKS", "-deststorepass", StorePassword, "-destkeypass", StorePassword, "-noprompt");
        await KeytoolAsync("-importcert", "-noprompt", "-alias", "ca", "-file", CaPem, "-storetype", "JKS",
            "-keystore", PathOf("trust.jks"), "-storepass", StorePassword);
    }

    private static async Task KeytoolAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("keytool", arguments, TimeSpan.FromSeconds(60));
        if (result.TimedOut || result.ExitCode != 0)
        {
            throw new InvalidOperationException($"keytool {string.Join(' ', arguments)} failed: {result.Output}");
        }
    }

    private static X509Certificate2 CreateCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
