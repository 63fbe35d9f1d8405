using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SharpKeeper.Server.Network;

/// <summary>
/// Reads a Java KeyStore (JKS) file, which .NET has no reader for, from the format's public
/// description: a big-endian header (magic 0xFEEDFEED, version 1 or 2, entry count), then private-key
/// entries (a protected PKCS#8 key and its certificate chain) and trusted-certificate entries, then a
/// SHA-1 over the password, the words "Mighty Aphrodite" and everything before it. Keys are protected
/// by Sun's KeyProtector: a 20-byte salt, the key XORed with a SHA-1 keystream of the password, and a
/// SHA-1 check of the password and the plain key. A wrong password or damaged file is an error.
/// </summary>
public static class JksStore
{
    private const uint Magic = 0xFEEDFEED;
    private const int PrivateKeyEntry = 1;
    private const int TrustedCertificateEntry = 2;
    private const int DigestLength = 20;
    private static readonly byte[] IntegrityWhitener = Encoding.UTF8.GetBytes("Mighty Aphrodite");

    /// <summary>Every certificate in the store; those of private-key entries come with their keys, each chain in order.</summary>
    public static X509Certificate2Collection Read(byte[] file, string? password)
    {
        var passwordBytes = Encoding.BigEndianUnicode.GetBytes(password ?? "");
        if (file.Length < 12 + DigestLength)
        {
            throw new CryptographicException("not a JKS store: too short");
        }

        var body = file.AsSpan(0, file.Length - DigestLength);
        var expected = SHA1.HashData([.. passwordBytes, .. IntegrityWhitener, .. body]);
        if (!CryptographicOperations.FixedTimeEquals(expected, file.AsSpan(file.Length - DigestLength)))
        {
            throw new CryptographicException("the JKS store's password is wrong, or the file is damaged (its integrity check fails)");
        }

        var reader = new Reader(body);
        if (reader.UInt() != Magic)
        {
            throw new CryptographicException("not a JKS store: no 0xFEEDFEED magic number");
        }

        var version = reader.Int();
        if (version is not (1 or 2))
        {
            throw new CryptographicException($"JKS version {version} is not 1 or 2");
        }

        var certificates = new X509Certificate2Collection();
        var count = reader.Int();
        for (var i = 0; i < count; i++)
        {
            var tag = reader.Int();
            reader.Utf(); // alias
            reader.Long(); // creation time
            switch (tag)
            {
                case PrivateKeyEntry:
                    {
                        var protectedKey = reader.Bytes(reader.Int());
                        var chainLength = reader.Int();
                        var chain = new List<X509Certificate2>();
                        for (var c = 0; c < chainLength; c++)
                        {
                            chain.Add(ReadCertificate(ref reader, version));
                        }

                        if (chain.Count == 0)
                        {
                            throw new CryptographicException("a JKS key entry has no certificate");
                        }

                        certificates.Add(WithKey(chain[0], Unprotect(protectedKey, passwordBytes)));
                        certificates.AddRange(chain.Skip(1).ToArray());
                        break;
                    }

                case TrustedCertificateEntry:
                    certificates.Add(ReadCertificate(ref reader, version));
                    break;
                default:
                    throw new CryptographicException($"unknown JKS entry tag {tag}");
            }
        }

        return certificates;
    }

    private static X509Certificate2 ReadCertificate(ref Reader reader, int version)
    {
        if (version == 2)
        {
            var type = reader.Utf();
            if (type != "X.509")
            {
                throw new CryptographicException($"JKS certificate of type {type}, not X.509");
            }
        }

        return X509CertificateLoader.LoadCertificate(reader.Bytes(reader.Int()));
    }

    /// <summary>KeyProtector: EncryptedPrivateKeyInfo holding salt || key XOR keystream || check.</summary>
    private static byte[] Unprotect(byte[] encryptedPrivateKeyInfo, byte[] passwordBytes)
    {
        string algorithm;
        byte[] protectedBytes;
        try
        {
            var info = new System.Formats.Asn1.AsnReader(encryptedPrivateKeyInfo, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
            algorithm = info.ReadSequence().ReadObjectIdentifier();
            protectedBytes = info.ReadOctetString();
        }
        catch (System.Formats.Asn1.AsnContentException e)
        {
            // Found by fuzzing: the ASN.1 reader's own exception is not a CryptographicException.
            throw new CryptographicException("a JKS protected key is not a well-formed EncryptedPrivateKeyInfo: " + e.Message, e);
        }

        if (algorithm != "1.3.6.1.4.1.42.2.17.1.1")
        {
            throw new CryptographicException($"JKS key protection {algorithm} is not supported (only Sun's JKS key protector)");
        }

        if (protectedBytes.Length < 2 * DigestLength)
        {
            throw new CryptographicException("a JKS protected key is too short");
        }

        var salt = protectedBytes.AsSpan(0, DigestLength);
        var encrypted = protectedBytes.AsSpan(DigestLength, protectedBytes.Length - 2 * DigestLength);
        var check = protectedBytes.AsSpan(protectedBytes.Length - DigestLength);
        var plain = new byte[encrypted.Length];
        var digest = salt.ToArray();
        for (var offset = 0; offset < plain.Length; offset += DigestLength)
        {
            digest = SHA1.HashData([.. passwordBytes, .. digest]);
            for (var i = 0; i < DigestLength && offset + i < plain.Length; i++)
            {
                plain[offset + i] = (byte)(encrypted[offset + i] ^ digest[i]);
            }
        }

        if (!CryptographicOperations.FixedTimeEquals(SHA1.HashData([.. passwordBytes, .. plain]), check))
        {
            throw new CryptographicException("the JKS key's password is wrong (its check fails)");
        }

        return plain;
    }

    /// <summary>The certificate with its PKCS#8 key, of whichever algorithm the certificate's public key is.</summary>
    private static X509Certificate2 WithKey(X509Certificate2 certificate, byte[] pkcs8)
    {
        using var rsa = certificate.GetRSAPublicKey();
        if (rsa is not null)
        {
            using var key = RSA.Create();
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            return certificate.CopyWithPrivateKey(key);
        }

        using var ec = certificate.GetECDsaPublicKey();
        if (ec is not null)
        {
            using var key = ECDsa.Create();
            key.ImportPkcs8PrivateKey(pkcs8, out _);
            return certificate.CopyWithPrivateKey(key);
        }

        throw new CryptographicException($"the key of {certificate.Subject} is neither RSA nor EC");
    }

    /// <summary>Big-endian reads with bounds checks: a truncated file is an error, not an exception of another kind.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public int Int() => (int)UInt();

        public uint UInt() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public long Long() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

        /// <summary>Java's writeUTF: a 2-byte length, then (modified) UTF-8.</summary>
        public string Utf() => Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadUInt16BigEndian(Take(2))));

        public byte[] Bytes(int length) => length < 0 ? throw new CryptographicException("negative length in a JKS store") : Take(length).ToArray();

        private ReadOnlySpan<byte> Take(int length)
        {
            if (length > _data.Length)
            {
                throw new CryptographicException("the JKS store ends early");
            }

            var taken = _data[..length];
            _data = _data[length..];
            return taken;
        }
    }
}
