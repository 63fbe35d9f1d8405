using System.Text;
using SharpKeeper.Server.Auth;

namespace SharpKeeper.Server.Tests.Network;

public sealed class SaslTests
{
    /// <summary>RFC 2831 section 4's worked example: the response and rspauth values it gives.</summary>
    [Fact]
    public void TheDigestMatchesTheRfcExample()
    {
        const string Nonce = "OA6MG9tEQGm2hh", Cnonce = "OA6MHXh6VqTrRk", Uri = "imap/elwood.innosoft.com";
        Assert.Equal(
            "d388dad90d4bbd760a152321f2143af7",
            DigestMd5Server.ResponseValue("chris", "elwood.innosoft.com", "secret", Nonce, Cnonce, "00000001", "auth", null, "AUTHENTICATE:" + Uri));
        Assert.Equal(
            "ea40f60335c427b5527b84dbabcdfffd",
            DigestMd5Server.ResponseValue("chris", "elwood.innosoft.com", "secret", Nonce, Cnonce, "00000001", "auth", null, ":" + Uri));
    }

    [Fact]
    public void AnExchangeWithTheRightPasswordCompletesWithRspauth()
    {
        var server = new DigestMd5Server(name => name == "bob" ? "bobsecret" : null, () => "n0nce");
        var challenge = Encoding.UTF8.GetString(server.Evaluate([]));
        Assert.Equal("realm=\"zk-sasl-md5\",nonce=\"n0nce\",qop=\"auth\",charset=utf-8,algorithm=md5-sess", challenge);

        var final = Encoding.UTF8.GetString(server.Evaluate(ClientResponse("bob", "bobsecret", "n0nce")));
        Assert.True(server.IsComplete);
        Assert.Equal("bob", server.AuthorizationId);
        Assert.Equal(
            "rspauth=" + DigestMd5Server.ResponseValue("bob", "zk-sasl-md5", "bobsecret", "n0nce", "c0nce", "00000001", "auth", null, ":zookeeper/zk-sasl-md5"),
            final);
    }

    [Theory]
    [InlineData("bob", "wrong", "n0nce", "wrong password")]
    [InlineData("eve", "bobsecret", "n0nce", "no such user")]
    [InlineData("bob", "bobsecret", "other", "nonce")]
    public void AWrongAnswerFails(string user, string password, string nonce, string reason)
    {
        var server = new DigestMd5Server(name => name == "bob" ? "bobsecret" : null, () => "n0nce");
        server.Evaluate([]);
        Assert.Contains(reason, Assert.Throws<SaslFailure>(() => server.Evaluate(ClientResponse(user, password, nonce))).Message);
        Assert.False(server.IsComplete);
    }

    [Fact]
    public void AMalformedResponseFails()
    {
        var server = new DigestMd5Server(_ => "x", () => "n0nce");
        server.Evaluate([]);
        Assert.Contains("unterminated", Assert.Throws<SaslFailure>(() => server.Evaluate("username=\"bob"u8.ToArray())).Message);
        Assert.Contains("has no nonce", Assert.Throws<SaslFailure>(() => server.Evaluate("username=\"bob\""u8.ToArray())).Message);
    }

    [Fact]
    public void TheJaasServerSectionGivesTheDigestUsers()
    {
        var config = JaasConfig.Parse("""
            /* ZooKeeper's server */
            Server {
                   org.apache.zookeeper.server.auth.DigestLoginModule required
                   user_super="adminsecret"   // the admin
                   user_bob="bob \"secret\"";
            };
            Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="x"; };
            """);
        var users = JaasConfig.DigestUsers(config.Section("Server")!);
        Assert.Equal(new Dictionary<string, string> { ["super"] = "adminsecret", ["bob"] = "bob \"secret\"" }, users);
        Assert.Equal("required", Assert.Single(config.Section("Client")!).Flag);
        Assert.StartsWith("line 1:", Assert.Throws<FormatException>(() => JaasConfig.Parse("Server { x required a=\"b\" ")).Message);
    }

    private static byte[] ClientResponse(string user, string password, string nonce)
    {
        var response = DigestMd5Server.ResponseValue(user, "zk-sasl-md5", password, nonce, "c0nce", "00000001", "auth", null, "AUTHENTICATE:zookeeper/zk-sasl-md5");
        return Encoding.UTF8.GetBytes(
            $"charset=utf-8,username=\"{user}\",realm=\"zk-sasl-md5\",nonce=\"{nonce}\",nc=00000001,cnonce=\"c0nce\",digest-uri=\"zookeeper/zk-sasl-md5\",maxbuf=65536,response={response},qop=auth");
    }
}
