using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Tests.Network;

/// <summary>The JKS reader against stores written by the JDK's own keytool (RSA and EC keys, trusted certificates).</summary>
public sealed class JksStoreTests : IDisposable
{
    private const string Password = "changeit";
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-jks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("RSA", "-keysize", "2048")]
    [InlineData("EC", "-groupname", "secp256r1")]
    public void AKeyEntryGivesTheCertificateWithAWorkingKey(string algorithm, string sizeOption, string size)
    {
        var store = Path.Combine(_dir, "key.jks");
        Keytool("-genkeypair", "-alias", "server", "-keyalg", algorithm, sizeOption, size, "-dname", "CN=localhost,O=SharpKeeper",
            "-validity", "2", "-storetype", "JKS", "-keystore", store, "-storepass", Password, "-keypass", Password);

        var certificate = Assert.Single(JksStore.Read(File.ReadAllBytes(store), Password));
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal("CN=localhost, O=SharpKeeper", certificate.Subject);

        // The key is the certificate's: what it signs, the certificate's public key verifies.
        var data = "proof"u8.ToArray();
        if (algorithm == "RSA")
        {
            var signature = certificate.GetRSAPrivateKey()!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            Assert.True(certificate.GetRSAPublicKey()!.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        }
        else
        {
            var signature = certificate.GetECDsaPrivateKey()!.SignData(data, HashAlgorithmName.SHA256);
            Assert.True(certificate.GetECDsaPublicKey()!.VerifyData(data, signature, HashAlgorithmName.SHA256));
        }
    }

    [Fact]
    public void TrustedCertificatesComeWithoutKeys()
    {
        var keys = Path.Combine(_dir, "key.jks");
        var exported = Path.Combine(_dir, "ca.pem");
        var trust = Path.Combine(_dir, "trust.jks");
        Keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Test CA", "-validity", "2",
            "-storetype", "JKS", "-keystore", keys, "-storepass", Password, "-keypass", Password);
        Keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", keys, "-storepass", Password, "-file", exported);
        Keytool("-importcert", "-noprompt", "-alias", "ca", "-file", exported, "-storetype", "JKS", "-keystore", trust, "-storepass", Password);

        var certificate = Assert.Single(JksStore.Read(File.ReadAllBytes(trust), Password));
        Assert.False(certificate.HasPrivateKey);
        Assert.Equal(X509Certificate2.CreateFromPem(File.ReadAllText(exported)).Thumbprint, certificate.Thumbprint);
    }

    [Fact]
    public void AWrongPasswordOrADamagedFileIsAClearError()
    {
        var store = Path.Combine(_dir, "key.jks");
        Keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=x", "-validity", "2",
            "-storetype", "JKS", "-keystore", store, "-storepass", Password, "-keypass", Password);
        var bytes = File.ReadAllBytes(store);

        Assert.Contains("password is wrong", Assert.Throws<CryptographicException>(() => JksStore.Read(bytes, "wrong")).Message);
        Assert.Contains("integrity check fails", Assert.Throws<CryptographicException>(() => JksStore.Read(bytes[..^1], Password)).Message);
        var flipped = (byte[])bytes.Clone();
        flipped[40] ^= 0xFF;
        Assert.Throws<CryptographicException>(() => JksStore.Read(flipped, Password));
        Assert.Throws<CryptographicException>(() => JksStore.Read([1, 2, 3], Password));
    }

    private static void Keytool(params string[] arguments)
    {
        var start = new ProcessStartInfo("keytool") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException("keytool did not finish within 60 s");
        }

        Assert.True(process.ExitCode == 0, $"keytool {string.Join(' ', arguments)}: {output.Result}{error.Result}");
    }
}
