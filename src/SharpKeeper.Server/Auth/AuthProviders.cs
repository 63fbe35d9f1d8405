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

    /// <summary>digest ids are "user:base64(sha1("user:password"))".</summary>
    public static string DigestOf(string userAndPassword)
    {
        var colon = userAndPassword.IndexOf(':');
        var user = colon < 0 ? userAndPassword : userAndPassword[..colon];
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(userAndPassword));
        return user + ":" + Convert.ToBase64String(hash);
    }

    /// <summary>Whether ids of this scheme come from an authentication (and so may stand for the "auth" ACL scheme).</summary>
    public static bool IsAuthenticated(string scheme) => scheme is Digest;

    public static bool IsKnownScheme(string scheme) => scheme is World or Digest or Ip;

    /// <summary>Validity of an id in an ACL being set.</summary>
    public static bool IsValidAclId(string scheme, string id) => scheme switch
    {
        World => id == "anyone",
        Digest => id.Count(c => c == ':') == 1 && !id.EndsWith(':'),
        Ip => TryParseCidr(id, out _, out _),
        _ => false,
    };

    /// <summary>Whether the authenticated id <paramref name="authId"/> satisfies the ACL id <paramref name="aclId"/> of the same scheme.</summary>
    public static bool Matches(string scheme, string authId, string aclId) => scheme switch
    {
        Ip => MatchesIp(authId, aclId),
        _ => authId == aclId,
    };

    private static bool MatchesIp(string clientAddress, string aclId)
    {
        if (!TryParseCidr(aclId, out var network, out var bits) || !IPAddress.TryParse(clientAddress, out var client))
        {
            return false;
        }

        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        var a = network.GetAddressBytes();
        var b = client.GetAddressBytes();
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF;
            if ((a[i] & mask) != (b[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseCidr(string id, out IPAddress address, out int bits)
    {
        var slash = id.IndexOf('/');
        var host = slash < 0 ? id : id[..slash];
        if (!IPAddress.TryParse(host, out address!))
        {
            bits = 0;
            return false;
        }

        var max = address.GetAddressBytes().Length * 8;
        bits = max;
        return slash < 0 || (int.TryParse(id.AsSpan(slash + 1), out bits) && bits >= 0 && bits <= max);
    }
}

/// <summary>ZooKeeper's permission check: super passes; otherwise some ACL entry granting the permission must match an id of the session.</summary>
public static class AclChecker
{
    public static bool IsAllowed(IReadOnlyList<Acl>? acl, Protocol.Perms perm, IReadOnlyList<Id> authIds)
    {
        foreach (var id in authIds)
        {
            if (id.Scheme == AuthProviders.Super)
            {
                return true;
            }
        }

        if (acl is null || acl.Count == 0)
        {
            return true;
        }

        foreach (var entry in acl)
        {
            if ((entry.Perms & perm) == 0)
            {
                continue;
            }

            if (entry.Id.Scheme == AuthProviders.World && entry.Id.Ident == "anyone")
            {
                return true;
            }

            foreach (var id in authIds)
            {
                if (id.Scheme == entry.Id.Scheme && AuthProviders.Matches(id.Scheme, id.Ident, entry.Id.Ident))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
