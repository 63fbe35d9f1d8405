using System.Security.Cryptography;
using System.Text;

namespace SharpKeeper.Server.Auth;

/// <summary>
/// The client side of SASL DIGEST-MD5 (RFC 2831), as a ZooKeeper server uses it to authenticate to
/// another one (a learner to its leader, a server to an election peer): no initial response; the
/// server's digest-challenge gets a digest-response for qop auth with the user as its own authzid;
/// the server's final rspauth proves it knew the password too. One instance per exchange.
/// </summary>
public sealed class DigestMd5Client(string username, string password, string protocol, string serverName, Func<string>? cnonces = null)
{
    private string? _expectedRspauth;

    /// <summary>Answers the server's challenge.</summary>
    public byte[] Respond(byte[] challenge)
    {
        if (_expectedRspauth is not null)
        {
            throw new SaslFailure("DIGEST-MD5: a second challenge after the response");
        }

        var fields = DigestMd5Server.Parse(Encoding.UTF8.GetString(challenge));
        if (!fields.TryGetValue("nonce", out var nonce))
        {
            throw new SaslFailure("DIGEST-MD5: the challenge has no nonce");
        }

        if (fields.TryGetValue("qop", out var offered) && !offered.Split(',', StringSplitOptions.TrimEntries).Contains("auth"))
        {
            throw new SaslFailure($"DIGEST-MD5: the server offers qop {offered}, not auth");
        }

        var realm = fields.GetValueOrDefault("realm") ?? serverName;
        var cnonce = (cnonces ?? NewCnonce)();
        const string Nc = "00000001";
        var digestUri = $"{protocol}/{serverName}";
        var response = DigestMd5Server.ResponseValue(username, realm, password, nonce, cnonce, Nc, "auth", username, "AUTHENTICATE:" + digestUri);
        _expectedRspauth = DigestMd5Server.ResponseValue(username, realm, password, nonce, cnonce, Nc, "auth", username, ":" + digestUri);
        return Encoding.UTF8.GetBytes(
            $"charset=utf-8,username={Quote(username)},realm={Quote(realm)},nonce={Quote(nonce)},nc={Nc},cnonce={Quote(cnonce)}," +
            $"digest-uri={Quote(digestUri)},maxbuf=65536,response={response},qop=auth,authzid={Quote(username)}");
    }

    /// <summary>Checks the server's final token (rspauth=...): it must prove the server knows the password.</summary>
    public void Verify(byte[] final)
    {
        var expected = _expectedRspauth ?? throw new SaslFailure("DIGEST-MD5: the server ended the exchange before its challenge");
        var fields = DigestMd5Server.Parse(Encoding.UTF8.GetString(final));
        if (!fields.TryGetValue("rspauth", out var rspauth)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(rspauth.ToLowerInvariant())))
        {
            throw new SaslFailure("DIGEST-MD5: the server's rspauth does not match: it does not know this user's password");
        }
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string NewCnonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
}
