using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

public sealed class AclTests
{
    private readonly CoreHarness _h = new();
    private readonly FakeConnection _a;

    public AclTests()
    {
        _a = _h.Connect();
    }

    private ErrorCode Err(FakeConnection c, OpCode op, PathRequest body) => _h.Call(c, op, body).Err;

    private static Acl Digest(string user, string hash, Perms perms = Perms.All) => new(perms, new Id("digest", user + ":" + hash));

    [Fact]
    public void DigestAuthIsAnsweredWithZxidZeroAndChangesNoState()
    {
        _h.MustCreate(_a, "/x");
        var entries = _h.Log.Entries.Count;
        var reply = _h.AddAuth(_a, "alice:pw");
        Assert.Equal(new ReplyHeader(Xids.Auth, 0, ErrorCode.Ok), reply.Header);
        Assert.Null(reply.Body);
        Assert.Equal(entries, _h.Log.Entries.Count);
        Assert.Contains(new Id("digest", AuthProviders.DigestOf("alice:pw")), _a.AuthInfo);
        Assert.Equal("alice:" + Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData("alice:pw"u8)), AuthProviders.DigestOf("alice:pw"));
    }

    /// <summary>As Apache's ProviderRegistry: x509 and sasl ACLs are invalid unless authProvider.N names their providers.</summary>
    [Theory]
    [InlineData("x509", "CN=client,O=Example")]
    [InlineData("sasl", "bob")]
    public void ProviderSchemesAreInvalidAclsWithoutTheirProvider(string scheme, string id)
    {
        var acl = new List<Acl> { new(Perms.All, new Id(scheme, id)) };
        var without = new CoreHarness(CoreHarness.DefaultOptions with { ProviderSchemes = new HashSet<string>() });
        Assert.Equal(ErrorCode.InvalidAcl, without.Call(without.Connect(), OpCode.Create, Req.Create("/p", acl: acl)).Err);
        var with = new CoreHarness(CoreHarness.DefaultOptions with { ProviderSchemes = new HashSet<string> { scheme } });
        Assert.Equal(ErrorCode.Ok, with.Call(with.Connect(), OpCode.Create, Req.Create("/p", acl: acl)).Err);
    }

    /// <summary>enforce.auth: before addAuth a request is answered SessionClosedRequireSaslAuth (zxid 0) and the connection closed; after it, served.</summary>
    [Fact]
    public void WithEnforcedAuthAnUnauthenticatedRequestClosesTheConnection()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { EnforcedAuthSchemes = new HashSet<string> { "digest" } });
        var anonymous = h.Connect();
        var refused = h.Call(anonymous, OpCode.Exists, Req.Watch("/"));
        Assert.Equal((ErrorCode.SessionClosedRequireSaslAuth, 0L), (refused.Err, refused.Header.Zxid));
        Assert.IsType<Closed>(anonymous.Log[^1]);

        var alice = h.Connect();
        Assert.Equal(ErrorCode.Ok, h.AddAuth(alice, "alice:pw").Header.Err);
        Assert.Equal(ErrorCode.Ok, h.Call(alice, OpCode.Exists, Req.Watch("/")).Err);
    }

    [Fact]
    public void AnUnknownAuthSchemeFailsAndClosesTheConnection()
    {
        var reply = _h.AddAuth(_a, "whatever", scheme: "kerberos");
        Assert.Equal(new ReplyHeader(Xids.Auth, 0, ErrorCode.AuthFailed), reply.Header);
        Assert.IsType<Closed>(_a.Log[^1]);
    }

    [Fact]
    public void WithoutTheDigestReadsAndWritesAreRefused()
    {
        _h.AddAuth(_a, "alice:pw");
        _h.MustCreate(_a, "/d", "x", acl: [Req.DigestAcl("alice:pw")]);
        var b = _h.Connect();
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.GetData, Req.Watch("/d", true)));
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.Exists, Req.Watch("/d", true)));
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.GetChildren, Req.Watch("/d", true)));
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.GetAcl, Req.Path("/d")));
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.GetAllChildrenNumber, Req.Path("/d")));
        Assert.Equal(0, _h.Core.Tree.DataWatches.WatchCount + _h.Core.Tree.ChildWatches.WatchCount);

        var write = _h.Call(b, OpCode.SetData, Req.SetData("/d", "y"));
        Assert.Equal(new ReplyHeader(write.Xid, 4, ErrorCode.NoAuth), write.Header);
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.SetAcl, Req.SetAcl("/d", Req.Open)));
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.Create2, Req.Create("/d/kid")));

        // A wrong password authenticates as a different id: still refused.
        Assert.Equal(ErrorCode.Ok, _h.AddAuth(b, "alice:wrong").Err);
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.GetData, Req.Watch("/d")));

        var c = _h.Connect();
        _h.AddAuth(c, "alice:pw");
        Assert.Equal("x", Req.Text(_h.Call(c, OpCode.GetData, Req.Watch("/d")).Body));
        Assert.Equal(ErrorCode.Ok, Err(c, OpCode.SetData, Req.SetData("/d", "z")));
    }

    [Fact]
    public void CreateAndDeleteAreCheckedOnTheParentOnly()
    {
        _h.MustCreate(_a, "/p");
        _h.MustCreate(_a, "/p/c");
        Assert.Equal(ErrorCode.Ok, Err(_a, OpCode.SetAcl, Req.SetAcl("/p", [Req.World(Perms.Read | Perms.Write | Perms.Admin)])));
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.Create2, Req.Create("/p/d")));
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.Delete, Req.Delete("/p/c")));
        Assert.Equal(ErrorCode.Ok, Err(_a, OpCode.SetData, Req.SetData("/p/c", "still writable")));

        _h.MustCreate(_a, "/q", acl: [Req.World(Perms.Create | Perms.Delete)]);
        _h.MustCreate(_a, "/q/x", acl: [Req.World(Perms.Read)]);
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.GetData, Req.Watch("/q")));
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.SetData, Req.SetData("/q/x", "no")));
        Assert.Equal(ErrorCode.Ok, Err(_a, OpCode.Delete, Req.Delete("/q/x")));

        // Anyone may delete a node they cannot read when its parent allows it.
        _h.MustCreate(_a, "/locked", acl: [Req.DigestAcl("x:y")]);
        Assert.Equal(ErrorCode.Ok, Err(_h.Connect(), OpCode.Delete, Req.Delete("/locked")));
    }

    [Fact]
    public void TheAuthSchemeExpandsToTheSessionsAuthenticatedIds()
    {
        _h.AddAuth(_a, "alice:pw");
        _h.AddAuth(_a, "bob:pw2");
        _h.MustCreate(_a, "/au", acl: [new Acl(Perms.All, new Id("auth", "")), new Acl(Perms.Read, new Id("auth", "ignored"))]);
        var acl = ((GetAclResponse)_h.Call(_a, OpCode.GetAcl, Req.Path("/au")).Body!).Acl;
        Assert.Equal(
        [
            Req.DigestAcl("alice:pw"),
            Req.DigestAcl("bob:pw2"),
            Req.DigestAcl("alice:pw", Perms.Read),
            Req.DigestAcl("bob:pw2", Perms.Read),
        ], acl);

        // With no authenticated id (the ip id does not count), "auth" is an invalid ACL.
        var b = _h.Connect();
        var refused = _h.Call(b, OpCode.Create2, Req.Create("/bad", acl: [new Acl(Perms.All, new Id("auth", ""))]));
        Assert.Equal(ErrorCode.InvalidAcl, refused.Err);
        Assert.Equal(_h.LastZxid, refused.Zxid);
        Assert.Equal(OpCode.Error, _h.Log.Entries[^1].Header.Type);
        Assert.Equal(ErrorCode.InvalidAcl, Err(b, OpCode.SetAcl, Req.SetAcl("/au", [new Acl(Perms.All, new Id("auth", ""))])));
    }

    [Fact]
    public void IpAclsMatchTheClientAddressByPrefix()
    {
        _h.MustCreate(_a, "/net", "n", acl: [Req.Ip("10.1.0.0/16")]);
        _h.MustCreate(_a, "/host", "h", acl: [Req.Ip("10.1.2.3")]);
        _h.MustCreate(_a, "/all", "a", acl: [Req.Ip("0.0.0.0/0")]);
        _h.MustCreate(_a, "/odd", "o", acl: [Req.Ip("10.1.2.0/23")]);
        var inside = _h.Connect(address: "10.1.2.3");
        var neighbour = _h.Connect(address: "10.1.2.4");
        var outside = _h.Connect(address: "10.2.0.1");

        Assert.Equal(ErrorCode.Ok, Err(inside, OpCode.GetData, Req.Watch("/net")));
        Assert.Equal(ErrorCode.Ok, Err(neighbour, OpCode.GetData, Req.Watch("/net")));
        Assert.Equal(ErrorCode.NoAuth, Err(outside, OpCode.GetData, Req.Watch("/net")));
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.GetData, Req.Watch("/net")));
        Assert.Equal(ErrorCode.Ok, Err(inside, OpCode.GetData, Req.Watch("/host")));
        Assert.Equal(ErrorCode.NoAuth, Err(neighbour, OpCode.GetData, Req.Watch("/host")));
        Assert.Equal(ErrorCode.Ok, Err(outside, OpCode.GetData, Req.Watch("/all")));
        Assert.Equal(ErrorCode.Ok, Err(_a, OpCode.GetData, Req.Watch("/all")));
        Assert.Equal(ErrorCode.Ok, Err(_h.Connect(address: "10.1.3.255"), OpCode.GetData, Req.Watch("/odd")));
        Assert.Equal(ErrorCode.NoAuth, Err(_h.Connect(address: "10.1.4.0"), OpCode.GetData, Req.Watch("/odd")));
    }

    [Theory]
    [InlineData("10.1.0.0/33")]
    [InlineData("10.1.0.0/-1")]
    [InlineData("10.1.0.0/x")]
    [InlineData("10.1.0.0/")]
    [InlineData("300.1.1.1")]
    [InlineData("10.1.1")]
    [InlineData("10")]
    [InlineData("10.1.1.1.1")]
    [InlineData("host.example.com")]
    [InlineData("")]
    [InlineData("10.1.2.3.")]
    [InlineData(" 10.1.2.3")]

    // ZooKeeper's ip provider reads IPv4 only.
    [InlineData("::1")]
    [InlineData("fe80::/64")]
    public void MalformedIpAclsAreInvalid(string expression) =>
        Assert.Equal(ErrorCode.InvalidAcl, Err(_a, OpCode.Create2, Req.Create("/ip", acl: [Req.Ip(expression)])));

    [Fact]
    public void IpAclOctetsAreDecimalAsInZooKeeper()
    {
        // ZooKeeper parses each octet with Integer.parseInt: "010" is ten, not octal eight.
        _h.MustCreate(_a, "/dec", acl: [Req.Ip("010.001.002.003")]);
        Assert.Equal(ErrorCode.Ok, Err(_h.Connect(address: "10.1.2.3"), OpCode.GetData, Req.Watch("/dec")));
        Assert.Equal(ErrorCode.NoAuth, Err(_h.Connect(address: "8.1.2.3"), OpCode.GetData, Req.Watch("/dec")));
    }

    [Fact]
    public void OnlyIPv4ClientsMatchIpAcls()
    {
        _h.MustCreate(_a, "/v4", acl: [Req.Ip("10.1.2.3"), Req.Ip("127.0.0.1", Perms.Write)]);
        Assert.Equal(ErrorCode.Ok, Err(_h.Connect(address: "::ffff:10.1.2.3"), OpCode.GetData, Req.Watch("/v4")));
        Assert.Equal(ErrorCode.NoAuth, Err(_h.Connect(address: "::1"), OpCode.GetData, Req.Watch("/v4")));
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.GetData, Req.Watch("/v4")));
        Assert.Equal(ErrorCode.Ok, Err(_a, OpCode.SetData, Req.SetData("/v4", "w")));
    }

    [Theory]
    [InlineData("world", "someone")]
    [InlineData("nope", "x")]
    [InlineData("super", "")]
    [InlineData("digest", "nocolon")]
    [InlineData("digest", "user:")]
    [InlineData("digest", "a:b:c")]
    [InlineData("digest", ":")]
    public void InvalidAclIdsAreRefused(string scheme, string id) =>
        Assert.Equal(ErrorCode.InvalidAcl, Err(_a, OpCode.Create2, Req.Create("/n", acl: [new Acl(Perms.All, new Id(scheme, id))])));

    [Theory]
    [InlineData(":hash")]
    [InlineData("user:hash:")]
    [InlineData("user:hash")]
    public void DigestIdsAreValidatedAsJavasSplitDoes(string id) =>
        Assert.Equal(ErrorCode.Ok, Err(_a, OpCode.Create2, Req.Create("/n", acl: [new Acl(Perms.All, new Id("digest", id))])));

    [Fact]
    public void AnEmptyAclIsInvalidAndDuplicatesAreDropped()
    {
        Assert.Equal(ErrorCode.InvalidAcl, Err(_a, OpCode.Create2, Req.Create("/n", acl: [])));
        _h.MustCreate(_a, "/n", acl: [Req.World(Perms.All), Req.World(Perms.All), Req.World(Perms.Read)]);
        Assert.Equal([Req.World(Perms.All), Req.World(Perms.Read)], ((GetAclResponse)_h.Call(_a, OpCode.GetAcl, Req.Path("/n")).Body!).Acl);
    }

    [Fact]
    public void GetAclNeedsReadOrAdminAndMasksDigestsWithoutAdmin()
    {
        _h.AddAuth(_a, "alice:pw");
        var hash = AuthProviders.DigestOf("alice:pw")["alice:".Length..];
        _h.MustCreate(_a, "/m", acl: [Req.DigestAcl("alice:pw"), Req.World(Perms.Read)]);
        var b = _h.Connect();

        var masked = (GetAclResponse)_h.Call(b, OpCode.GetAcl, Req.Path("/m")).Body!;
        Assert.Equal([Digest("alice", "x"), Req.World(Perms.Read)], masked.Acl);
        var full = (GetAclResponse)_h.Call(_a, OpCode.GetAcl, Req.Path("/m")).Body!;
        Assert.Equal([Digest("alice", hash), Req.World(Perms.Read)], full.Acl);
        Assert.Equal(masked.Stat, full.Stat);

        _h.MustCreate(_a, "/adminonly", acl: [Req.World(Perms.Admin), Req.DigestAcl("carol:pw", Perms.Read)]);
        var admin = (GetAclResponse)_h.Call(b, OpCode.GetAcl, Req.Path("/adminonly")).Body!;
        Assert.Equal([Req.World(Perms.Admin), Req.DigestAcl("carol:pw", Perms.Read)], admin.Acl);

        _h.MustCreate(_a, "/writeonly", acl: [Req.World(Perms.Write)]);
        Assert.Equal(ErrorCode.NoAuth, Err(b, OpCode.GetAcl, Req.Path("/writeonly")));
        Assert.Equal(ErrorCode.NoNode, Err(b, OpCode.GetAcl, Req.Path("/missing")));
    }

    [Fact]
    public void SetAclNeedsAdmin()
    {
        _h.MustCreate(_a, "/n", acl: [Req.World(Perms.Read | Perms.Write | Perms.Create | Perms.Delete)]);
        Assert.Equal(ErrorCode.NoAuth, Err(_a, OpCode.SetAcl, Req.SetAcl("/n", Req.Open)));
        Assert.Equal(0, _h.StatOf("/n").Aversion);
    }

    [Fact]
    public void TheSuperDigestBypassesEveryAcl()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { SuperDigest = AuthProviders.DigestOf("super:admin") });
        var owner = h.Connect();
        h.MustCreate(owner, "/locked", "l", acl: [Req.DigestAcl("x:y", Perms.Read)]);
        h.MustCreate(owner, "/locked2", acl: [Req.World(Perms.Read)]);
        h.MustCreate(owner, "/nokids", acl: [Req.World(Perms.Read)]);
        var admin = h.Connect();
        Assert.Equal(ErrorCode.NoAuth, h.Call(admin, OpCode.GetData, Req.Watch("/locked")).Err);

        // A wrong super password is just another digest id.
        Assert.Equal(ErrorCode.Ok, h.AddAuth(admin, "super:wrong").Err);
        Assert.Equal(ErrorCode.NoAuth, h.Call(admin, OpCode.GetData, Req.Watch("/locked")).Err);

        Assert.Equal(ErrorCode.Ok, h.AddAuth(admin, "super:admin").Err);
        Assert.Contains(new Id("super", ""), admin.AuthInfo);
        Assert.Equal("l", Req.Text(h.Call(admin, OpCode.GetData, Req.Watch("/locked")).Body));
        var acl = (GetAclResponse)h.Call(admin, OpCode.GetAcl, Req.Path("/locked")).Body!;
        Assert.Equal([Req.DigestAcl("x:y", Perms.Read)], acl.Acl);
        Assert.Equal(ErrorCode.Ok, h.Call(admin, OpCode.SetData, Req.SetData("/locked", "w")).Err);
        Assert.Equal(ErrorCode.Ok, h.Call(admin, OpCode.Create2, Req.Create("/nokids/kid")).Err);
        Assert.Equal(ErrorCode.Ok, h.Call(admin, OpCode.Delete, Req.Delete("/nokids/kid")).Err);
        Assert.Equal(ErrorCode.Ok, h.Call(admin, OpCode.SetAcl, Req.SetAcl("/locked2", Req.Open)).Err);

        // Super is not an id the "auth" scheme expands to: only the digest is.
        h.MustCreate(admin, "/mine", acl: [new Acl(Perms.All, new Id("auth", ""))]);
        Assert.Equal([Req.DigestAcl("super:wrong"), Req.DigestAcl("super:admin")],
            ((GetAclResponse)h.Call(admin, OpCode.GetAcl, Req.Path("/mine")).Body!).Acl);
    }

    [Fact]
    public void AclCheckerFollowsZooKeepersRules()
    {
        IReadOnlyList<Id> ip = [new Id("ip", "10.0.0.1")];
        Assert.True(AclChecker.IsAllowed([], Perms.Admin, ip));
        Assert.True(AclChecker.IsAllowed(null, Perms.Admin, ip));
        Assert.True(AclChecker.IsAllowed([Req.World(Perms.Read)], Perms.Read | Perms.Admin, ip));
        Assert.False(AclChecker.IsAllowed([Req.World(Perms.Read)], Perms.Write, ip));
        Assert.False(AclChecker.IsAllowed([new Acl(Perms.All, new Id("digest", "10.0.0.1"))], Perms.Read, ip));
        Assert.True(AclChecker.IsAllowed([Req.World(Perms.None)], Perms.Read, [new Id("super", "")]));
    }
}
