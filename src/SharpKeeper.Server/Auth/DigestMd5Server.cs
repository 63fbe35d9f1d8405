using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SharpKeeper.Server.Auth;

/// <summary>A SASL exchange that failed: the client is answered AUTHFAILED and disconnected.</summary>
public sealed class SaslFailure(string message) : Exception(message);

/// <summary>
/// The server side of SASL DIGEST-MD5 (RFC 2831) as Apache ZooKeeper's Java server runs it: protocol
/// "zookeeper", server name and realm "zk-sasl-md5", qop auth, algorithm md5-sess. The first token
/// (empty) gets the challenge; the client's digest-response is checked against the password of the
/// user it names, and the answer carries rspauth, which ends the exchange. One instance per connection.
/// Between servers the protocol is "zookeeper-quorum" and the server name and realm "zk-quorum-sasl-md5".
/// </summary>
public sealed class DigestMd5Server(Func<string, string?> passwordOf, Func<string>? nonces = null, string protocol = DigestMd5Server.Protocol, string realm = DigestMd5Server.Realm)
{
    public const string Protocol = "zookeeper";
    public const string Realm = "zk-sasl-md5";

    private string? _nonce;

    /// <summary>The authenticated user, once the exchange is complete.</summary>
    public string? AuthorizationId { get; private set; }

    public bool IsComplete => AuthorizationId is not null;

    /// <summary>Takes the client's token; returns the server's next one.</summary>
    public byte[] Evaluate(byte[] token)
    {
        if (IsComplete)
        {
            throw new SaslFailure("DIGEST-MD5 authentication is already complete");
        }

        if (_nonce is null)
        {
            _nonce = (nonces ?? NewNonce)();
            return Encoding.UTF8.GetBytes($"realm=\"{realm}\",nonce=\"{_nonce}\",qop=\"auth\",charset=utf-8,algorithm=md5-sess");
        }

        var fields = Parse(Encoding.UTF8.GetString(token));
        var username = Require(fields, "username");
        var givenRealm = fields.GetValueOrDefault("realm") ?? realm;
        var nonce = Require(fields, "nonce");
        var cnonce = Require(fields, "cnonce");
        var nc = Require(fields, "nc");
        var qop = fields.GetValueOrDefault("qop") ?? "auth";
        var digestUri = Require(fields, "digest-uri");
        var response = Require(fields, "response");
        var authzid = fields.GetValueOrDefault("authzid");
        if (nonce != _nonce)
        {
            throw new SaslFailure("DIGEST-MD5: the nonce is not the one this server sent");
        }

        if (givenRealm != realm || qop != "auth" || nc != "00000001")
        {
            throw new SaslFailure($"DIGEST-MD5: unexpected realm, qop or nc ({givenRealm}, {qop}, {nc})");
        }

        if (!digestUri.Equals($"{protocol}/{realm}", StringComparison.OrdinalIgnoreCase))
        {
            throw new SaslFailure($"DIGEST-MD5: digest-uri {digestUri} is not {protocol}/{realm}");
        }

        var password = passwordOf(username) ?? throw new SaslFailure($"DIGEST-MD5: no such user {username}");
        var expected = ResponseValue(username, givenRealm, password, nonce, cnonce, nc, qop, authzid, "AUTHENTICATE:" + digestUri);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(response.ToLowerInvariant())))
        {
            throw new SaslFailure($"DIGEST-MD5: wrong password for {username}");
        }

        if (authzid is not null && authzid != username)
        {
            throw new SaslFailure($"DIGEST-MD5: {username} may not act as {authzid}");
        }

        AuthorizationId = username;
        var rspauth = ResponseValue(username, givenRealm, password, nonce, cnonce, nc, qop, authzid, ":" + digestUri);
        return Encoding.UTF8.GetBytes("rspauth=" + rspauth);
    }

    /// <summary>RFC 2831 2.1.2.1: HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))), with md5-sess A1.</summary>
    public static string ResponseValue(string username, string realm, string password, string nonce, string cnonce, string nc, string qop, string? authzid, string a2)
    {
        var secret = MD5.HashData(Latin1IfPossible($"{username}:{realm}:{password}"));
        var a1Tail = Encoding.UTF8.GetBytes(authzid is null ? $":{nonce}:{cnonce}" : $":{nonce}:{cnonce}:{authzid}");
        var ha1 = Hex(MD5.HashData([.. secret, .. a1Tail]));
        var ha2 = Hex(MD5.HashData(Encoding.UTF8.GetBytes(a2)));
        return Hex(MD5.HashData(Encoding.UTF8.GetBytes($"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")));
    }

    /// <summary>With charset=utf-8, RFC 2831 hashes the user, realm and password in ISO 8859-1 when they fit it.</summary>
    private static byte[] Latin1IfPossible(string text) =>
        text.All(c => c <= 0xFF) ? Encoding.Latin1.GetBytes(text) : Encoding.UTF8.GetBytes(text);

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

    private static string Require(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var value) ? value : throw new SaslFailure($"DIGEST-MD5: the response has no {name}");

    /// <summary>name=value pairs separated by commas; a value may be quoted, with backslash escapes.</summary>
    public static Dictionary<string, string> Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var equals = text.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var name = text[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    throw new SaslFailure("DIGEST-MD5: an unterminated quoted value");
                }

                i++;
            }
            else
            {
                while (i < text.Length && text[i] != ',')
                {
                    value.Append(text[i++]);
                }
            }

            if (!fields.TryAdd(name, value.ToString().Trim()))
            {
                throw new SaslFailure(string.Create(CultureInfo.InvariantCulture, $"DIGEST-MD5: {name} given twice"));
            }
        }

        return fields;
    }
}
