using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Auth;

/// <summary>The built-in authentication schemes: what an id looks like, how addAuth maps to one, and how an ACL id matches it.</summary>
public static class AuthProviders
{
    public const string World = "world";
    public const string Digest = "digest";
    public const string Ip = "ip";
    public const string Super = "super";
    public const string AuthScheme = "auth";

    /// <summary>A SASL-authenticated user (SASLAuthenticationProvider).</summary>
    public const string Sasl = "sasl";

    /// <summary>A TLS client certificate's subject (X509AuthenticationProvider), in RFC 2253 form.</summary>
    public const string X509 = "x509";

    /// <summary>digest ids are "user:base64(sha1("user:password"))".</summary>
    public static string DigestOf(string userAndPassword)
    {
        var colon = userAndPassword.IndexOf(':');
        var user = colon < 0 ? userAndPassword : userAndPassword[..colon];
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(userAndPassword));
        return user + ":" + Convert.ToBase64String(hash);
    }

    /// <summary>Whether ids of this scheme come from an authentication (and so may stand for the "auth" ACL scheme).</summary>
    public static bool IsAuthenticated(string scheme) => scheme is Digest or X509 or Sasl;

    /// <summary>
    /// Whether the scheme's provider is registered, as Apache's ProviderRegistry has them: ip and
    /// digest always, x509 and sasl when authProvider.N names them (<paramref name="configured"/>).
    /// </summary>
    public static bool HasProvider(string scheme, IReadOnlySet<string> configured) =>
        scheme is Ip or Digest || (scheme is X509 or Sasl && configured.Contains(scheme));

    public static bool IsKnownScheme(string scheme) => scheme is World or Digest or Ip or X509 or Sasl;

    /// <summary>Validity of an id in an ACL being set.</summary>
    public static bool IsValidAclId(string scheme, string id) => scheme switch
    {
        World => id == "anyone",

        // As ZooKeeper: id.split(":") must give two parts, and Java's split drops trailing empty parts.
        Digest => JavaSplitCount(id, ':') == 2,
        Ip => TryParseCidr(id, out _, out _),

        // As X500Principal's parser, roughly: attribute=value pairs.
        X509 => id.Contains('=', StringComparison.Ordinal),
        Sasl => id.Length > 0,
        _ => false,
    };

    /// <summary>Whether the authenticated id <paramref name="authId"/> satisfies the ACL id <paramref name="aclId"/> of the same scheme.</summary>
    public static bool Matches(string scheme, string authId, string aclId) => scheme switch
    {
        Ip => MatchesIp(authId, aclId),
        _ => authId == aclId,
    };

    private static int JavaSplitCount(string value, char separator)
    {
        var parts = value.Split(separator);
        var count = parts.Length;
        while (count > 0 && parts[count - 1].Length == 0)
        {
            count--;
        }

        return count;
    }

    private static bool MatchesIp(string clientAddress, string aclId)
    {
        if (!TryParseCidr(aclId, out var network, out var bits))
        {
            return false;
        }

        // The connection reports IPv4-mapped IPv6 peers in dotted form; anything else that is not
        // a dotted quad never matches, as in ZooKeeper (whose ip provider only reads IPv4).
        if (IPAddress.TryParse(clientAddress, out var parsed) && parsed.IsIPv4MappedToIPv6)
        {
            clientAddress = parsed.MapToIPv4().ToString();
        }

        if (!TryParseIPv4(clientAddress, out var client))
        {
            return false;
        }

        var mask = bits == 0 ? 0u : uint.MaxValue << (32 - bits);
        return (network & mask) == (client & mask);
    }

    /// <summary>
    /// An ip ACL id as ZooKeeper reads it: a dotted quad of decimal octets (each as Java's
    /// Integer.parseInt reads it, so "010" is ten), optionally followed by "/bits" with 0 &lt;= bits &lt;= 32.
    /// </summary>
    private static bool TryParseCidr(string id, out uint address, out int bits)
    {
        bits = 32;
        var slash = id.IndexOf('/');
        if (!TryParseIPv4(slash < 0 ? id : id[..slash], out address))
        {
            return false;
        }

        return slash < 0 || (TryParseJavaInt(id.AsSpan(slash + 1), out bits) && bits is >= 0 and <= 32);
    }

    private static bool TryParseIPv4(string text, out uint address)
    {
        address = 0;
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var part in parts)
        {
            if (!TryParseJavaInt(part, out var octet) || octet is < 0 or > 255)
            {
                return false;
            }

            address = (address << 8) | (uint)octet;
        }

        return true;
    }

    /// <summary>Integer.parseInt: an optional sign and decimal digits, nothing else.</summary>
    private static bool TryParseJavaInt(ReadOnlySpan<char> text, out int value) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}

/// <summary>ZooKeeper's permission check: super passes; otherwise some ACL entry granting the permission must match an id of the session.</summary>
public static class AclChecker
{
    public static bool IsAllowed(IReadOnlyList<Acl>? acl, Protocol.Perms perm, IReadOnlyList<Id> authIds)
    {
        // Index loops: foreach over these interfaces would allocate an enumerator per check.
        for (var i = 0; i < authIds.Count; i++)
        {
            if (authIds[i].Scheme == AuthProviders.Super)
            {
                return true;
            }
        }

        if (acl is null || acl.Count == 0)
        {
            return true;
        }

        for (var a = 0; a < acl.Count; a++)
        {
            var entry = acl[a];
            if ((entry.Perms & perm) == 0)
            {
                continue;
            }

            if (entry.Id.Scheme == AuthProviders.World && entry.Id.Ident == "anyone")
            {
                return true;
            }

            for (var i = 0; i < authIds.Count; i++)
            {
                var id = authIds[i];
                if (id.Scheme == entry.Id.Scheme && AuthProviders.Matches(id.Scheme, id.Ident, entry.Id.Ident))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
