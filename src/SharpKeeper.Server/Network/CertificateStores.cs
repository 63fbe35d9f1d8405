using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Network;

/// <summary>
/// Reads the key and trust stores zoo.cfg names, in the formats Apache's X509Util reads: JKS,
/// PKCS12 and PEM (a PEM key store holds the certificate chain and its private key, optionally encrypted with the
/// store password; a trust store holds CA certificates). The type is ssl.*.type, or guessed from the
/// file name as Apache's KeyStoreFileType does. Any failure is a start-up error naming the key and file.
/// </summary>
public static class CertificateStores
{
    public const string Pkcs12 = "PKCS12";
    public const string Pem = "PEM";
    public const string Jks = "JKS";

    /// <summary>The server's certificate with its private key, and the rest of its chain.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadKeyStore(StoreSettings store)
    {
        var type = TypeOf(store);
        try
        {
            var certificates = type switch
            {
                Pkcs12 => X509CertificateLoader.LoadPkcs12CollectionFromFile(store.Location, store.Password, X509KeyStorageFlags.EphemeralKeySet),
                Pem => LoadPemKeyStore(store),
                Jks => WithUsableKeys(JksStore.Read(File.ReadAllBytes(store.Location), store.Password)),
                _ => throw Unsupported(store, type),
            };
            var withKey = certificates.FirstOrDefault(c => c.HasPrivateKey)
                ?? throw store.Source.Error($"{store.Location} holds no private key with its certificate");
            var chain = new X509Certificate2Collection();
            foreach (var certificate in certificates)
            {
                if (!ReferenceEquals(certificate, withKey))
                {
                    chain.Add(certificate);
                }
            }

            return (withKey, chain);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw store.Source.Error($"cannot read the {type} key store {store.Location}: {e.Message}", e);
        }
    }

    /// <summary>The certificates a peer's chain must end in.</summary>
    public static X509Certificate2Collection LoadTrustStore(StoreSettings store)
    {
        var type = TypeOf(store);
        try
        {
            var certificates = new X509Certificate2Collection();
            switch (type)
            {
                case Pkcs12:
                    certificates = X509CertificateLoader.LoadPkcs12CollectionFromFile(store.Location, store.Password, X509KeyStorageFlags.EphemeralKeySet);
                    break;
                case Pem:
                    certificates.ImportFromPemFile(store.Location);
                    break;
                case Jks:
                    certificates = JksStore.Read(File.ReadAllBytes(store.Location), store.Password);
                    break;
                default:
                    throw Unsupported(store, type);
            }

            return certificates.Count > 0 ? certificates : throw store.Source.Error($"{store.Location} holds no certificate");
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw store.Source.Error($"cannot read the {type} trust store {store.Location}: {e.Message}", e);
        }
    }

    /// <summary>ssl.*.type, or the type the file name says (.p12/.pfx, .pem, .jks), as Apache guesses it.</summary>
    public static string TypeOf(StoreSettings store)
    {
        if (store.Type is { Length: > 0 } given)
        {
            return given.ToUpperInvariant();
        }

        return Path.GetExtension(store.Location).ToLowerInvariant() switch
        {
            ".p12" or ".pfx" => Pkcs12,
            ".pem" => Pem,
            ".jks" => Jks,
            _ => throw store.Source.Error($"cannot tell the store type of {store.Location} from its name: set {TypeKey(store)} to PKCS12 or PEM"),
        };
    }

    private static X509Certificate2Collection LoadPemKeyStore(StoreSettings store)
    {
        var text = File.ReadAllText(store.Location);
        var certificate = store.Password is { Length: > 0 } password && text.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal)
            ? X509Certificate2.CreateFromEncryptedPem(text, text, password)
            : X509Certificate2.CreateFromPem(text, text);

        var withKey = Usable(certificate);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(text);
        var collection = new X509Certificate2Collection { withKey };
        foreach (var other in all)
        {
            if (other.Thumbprint != withKey.Thumbprint)
            {
                collection.Add(other);
            }
        }

        return collection;
    }

    /// <summary>A key joined to its certificate in memory, made usable by SslStream on every platform by a PKCS12 round trip.</summary>
    private static X509Certificate2 Usable(X509Certificate2 withKey) =>
        X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);

    private static X509Certificate2Collection WithUsableKeys(X509Certificate2Collection certificates)
    {
        var usable = new X509Certificate2Collection();
        foreach (var certificate in certificates)
        {
            usable.Add(certificate.HasPrivateKey ? Usable(certificate) : certificate);
        }

        return usable;
    }

    private static ConfigException Unsupported(StoreSettings store, string type) =>
        store.Source.Error($"store type {type} is not supported: use JKS, PKCS12 or PEM ({TypeKey(store)})");

    private static string TypeKey(StoreSettings store) => store.Source.Key[..store.Source.Key.LastIndexOf('.')] + ".type";
}
