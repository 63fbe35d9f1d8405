using System.Net;
using System.Security.Cryptography.X509Certificates;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// Apache 3.9's check for AdminServer commands that change or expose all data (snapshot, restore):
/// the Authorization header, "&lt;scheme&gt; &lt;credentials&gt;" (digest user:password, ip, or x509
/// with a client certificate over HTTPS), authenticates ids, and those ids must hold every
/// permission on the root znode's ACL. A missing header or failed authentication is 401, a refusal 403.
/// </summary>
public sealed class AdminAuthorization(SharpKeeperServer server)
{
    public const string Missing = "Auth info is missing for the command";
    public const string NotAuthenticated = "Not authenticated";
    public const string NotAuthorized = "Not authorized";

    private static readonly Perms[] EachPermission = [Perms.Read, Perms.Write, Perms.Create, Perms.Delete, Perms.Admin];

    /// <summary>Null when the request may run; otherwise the status and error to answer with.</summary>
    public async Task<(int Status, string Error)?> CheckAsync(AdminRequest request)
    {
        if (request.Authorization is not { } header)
        {
            return (401, Missing);
        }

        if (Authenticate(header, request.Remote, request.ClientCertificate) is not { Count: > 0 } ids)
        {
            return (401, NotAuthenticated);
        }

        // As Apache 3.9.4 and later: every permission bit must be granted, each on its own (unless skipACL).
        if (server.Config.SkipAcl)
        {
            return null;
        }

        var allowed = await server.Core.InvokeAsync(() =>
        {
            var acl = server.Core.Tree.Root.Acl;
            return EachPermission.All(permission => AclChecker.IsAllowed(acl, permission, ids));
        }).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return allowed ? null : (403, NotAuthorized);
    }

    private List<Id>? Authenticate(string header, IPAddress? remote, X509Certificate2? certificate)
    {
        // Java's split(" "): trailing empty parts are dropped; one or two parts are accepted.
        var parts = header.Split(' ').ToList();
        while (parts.Count > 0 && parts[^1].Length == 0)
        {
            parts.RemoveAt(parts.Count - 1);
        }

        if (parts.Count is 0 or > 2)
        {
            return null;
        }

        var credentials = parts.Count == 2 ? parts[1] : null;
        switch (parts[0])
        {
            case AuthProviders.Digest when credentials is not null && credentials.Contains(':', StringComparison.Ordinal):
                {
                    var id = new Id(AuthProviders.Digest, AuthProviders.DigestOf(credentials));
                    return server.Config.SuperDigest is { } super && super == id.Ident ? [id, new Id(AuthProviders.Super, "")] : [id];
                }

            case AuthProviders.Ip when remote is not null:
                return [new Id(AuthProviders.Ip, (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString())];
            case AuthProviders.X509 when certificate is not null && server.ClientTls is { } tls:
                return [.. tls.IdentitiesOf(certificate)];
            default:
                return null;
        }
    }
}
