using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>skipACL=yes on both servers: no operation is refused for its ACL, and getAcl shows digests unmasked, as Apache's checkACL returns at once.</summary>
public sealed class SkipAclDifferentialTests(SkipAclFixture fixture) : DifferentialTestBase(fixture), IClassFixture<SkipAclFixture>
{
    [Fact]
    public Task EveryAclIsIgnored() => AssertSameAsync(2, async t =>
    {
        var r = NewRoot("skipacl");
        var alice = new Id(AuthProviders.Digest, AuthProviders.DigestOf("alice:secret"));
        await Create(t, 0, r);
        await t.AuthAsync(0, "digest", "alice:secret");
        await t.OpAsync(0, OpCode.Create2, Create(r + "/private", "p", 0, [new Acl(Perms.All, alice)]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/readonly", "r", 0, [new Acl(Perms.Read, Id.Anyone)]));
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/private", false));
        await t.OpAsync(1, OpCode.GetAcl, new PathOnlyRequest(r + "/private"));
        await t.OpAsync(1, OpCode.SetData, new SetDataRequest(r + "/private", Bytes("changed"), -1));
        await t.OpAsync(1, OpCode.Create2, Create(r + "/private/kid"));
        await t.OpAsync(1, OpCode.SetAcl, new SetAclRequest(r + "/private", Open, -1));
        await t.OpAsync(1, OpCode.SetData, new SetDataRequest(r + "/readonly", Bytes("x"), -1));
        await t.OpAsync(1, OpCode.Create2, Create(r + "/readonly/kid"));
        await t.OpAsync(1, OpCode.Delete, new PathVersionRequest(r + "/readonly/kid", -1));
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/private", false));
    });
}
