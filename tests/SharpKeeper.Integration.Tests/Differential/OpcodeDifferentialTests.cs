using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>Hand-written cases: every opcode with its success and error outcomes, compared with Apache ZooKeeper 3.8.</summary>
[Collection(DifferentialCollection.Name)]
public sealed class OpcodeDifferentialTests(DifferentialFixture fixture) : DifferentialTestBase(fixture)
{
    [Fact]
    public Task CreateVariantsAndErrors() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("create");
        await t.OpAsync(0, OpCode.Create, Create(r, "root"));
        await t.OpAsync(0, OpCode.Create, Create(r, "again"));                      // NodeExists
        await t.OpAsync(0, OpCode.Create2, Create(r + "/a", "a"));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/missing/b"));               // NoNode
        await t.OpAsync(0, OpCode.Create, Create(r + "/seq-", "", (int)CreateMode.PersistentSequential));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/seq-", "", (int)CreateMode.PersistentSequential));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/", "", (int)CreateMode.PersistentSequential));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/e", "", (int)CreateMode.Ephemeral));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/e/child"));                 // NoChildrenForEphemerals
        await t.OpAsync(0, OpCode.Create2, Create(r + "/es-", "", (int)CreateMode.EphemeralSequential));
        await t.OpAsync(0, OpCode.Create2, Create("bad"));                          // BadArguments
        await t.OpAsync(0, OpCode.Create2, Create(r + "/"));                        // BadArguments
        await t.OpAsync(0, OpCode.Create2, Create(r + "//x"));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/./x"));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/x", "", 42));               // bad flags
        await t.OpAsync(0, OpCode.Create2, Create(r + "/noacl", "", 0, []));        // InvalidACL
        await t.OpAsync(0, OpCode.Create2, Create(r + "/badacl", "", 0, [new Acl(Perms.All, new Id("nope", "x"))]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/authacl", "", 0, [new Acl(Perms.All, new Id("auth", ""))]));
        await t.OpAsync(0, OpCode.Create2, Create("/zookeeper/x"));
        await t.OpAsync(0, OpCode.GetChildren2, Watch(r, false));
        await t.OpAsync(0, OpCode.GetData, Watch(r + "/a", false));
    });

    [Fact]
    public Task ContainerAndTtlCreation() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("container");
        await t.OpAsync(0, OpCode.Create2, Create(r));
        await t.OpAsync(0, OpCode.CreateContainer, Create(r + "/c", "", (int)CreateMode.Container));
        await t.OpAsync(0, OpCode.CreateContainer, Create(r + "/c2", "", (int)CreateMode.Persistent));   // mode mismatch
        await t.OpAsync(0, OpCode.Create2, Create(r + "/c3", "", (int)CreateMode.Container));            // container via create2
        // TTLs far beyond the suite's length: a node swept while a later test runs would add a txn to
        // its transcript on each server at a different moment (the sweeps run on their own clocks).
        await t.OpAsync(0, OpCode.CreateTtl, Create(r + "/t", "", (int)CreateMode.PersistentWithTtl, ttl: 3_600_000));
        await t.OpAsync(0, OpCode.CreateTtl, Create(r + "/t0", "", (int)CreateMode.PersistentWithTtl, ttl: 0));
        await t.OpAsync(0, OpCode.CreateTtl, Create(r + "/tq-", "", (int)CreateMode.PersistentSequentialWithTtl, ttl: 3_600_000));
        await t.OpAsync(0, OpCode.CreateTtl, Create(r + "/tp", "", (int)CreateMode.Persistent, ttl: 3_600_000));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/c/kid"));
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/c", false));
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/t", false));
    });

    [Fact]
    public Task DeleteAndVersions() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("delete");
        await Create(t, 0, r);
        await Create(t, 0, r + "/a", "x");
        await Create(t, 0, r + "/a/b");
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/a", -1));       // NotEmpty
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/a/b", 5));      // BadVersion
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/a/b", 0));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/a/b", -1));     // NoNode
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest("/zookeeper", -1));   // BadArguments
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest("/", -1));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest("nope", -1));
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/a", false));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/a", -1));
        await t.OpAsync(0, OpCode.GetChildren2, Watch(r, false));
    });

    [Fact]
    public Task SetDataGetDataExists() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("setdata");
        await Create(t, 0, r, "v0");
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("v1"), -1));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("v2"), 1));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("v3"), 1));    // BadVersion
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, null, -1));
        await t.OpAsync(0, OpCode.GetData, Watch(r, false));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r + "/none", Bytes("x"), -1));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest("bad", Bytes("x"), -1));
        await t.OpAsync(0, OpCode.GetData, Watch(r + "/none", false));
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/none", false));
        await t.OpAsync(0, OpCode.Exists, Watch(r, false));
        await t.OpAsync(0, OpCode.GetData, Watch("/zookeeper/config", false));
        await t.OpAsync(0, OpCode.GetData, Watch("/zookeeper", false));
        await t.OpAsync(0, OpCode.GetChildren, Watch("/zookeeper", false));
    });

    [Fact]
    public Task AclsAndAuth() => AssertSameAsync(2, async t =>
    {
        var r = NewRoot("acl");
        var alice = new Id(AuthProviders.Digest, AuthProviders.DigestOf("alice:secret"));
        await Create(t, 0, r);
        await t.AuthAsync(0, "digest", "alice:secret");
        await t.OpAsync(0, OpCode.WhoAmI, null, "whoAmI");
        await t.OpAsync(0, OpCode.Create2, Create(r + "/private", "p", 0, [new Acl(Perms.All, alice)]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/mine", "m", 0, [new Acl(Perms.All, new Id("auth", ""))]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/readonly", "r", 0, [new Acl(Perms.Read, Id.Anyone)]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/iponly", "i", 0, [new Acl(Perms.All, new Id("ip", "127.0.0.0/8"))]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/otherip", "o", 0, [new Acl(Perms.All, new Id("ip", "10.1.2.3"))]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/badip", "o", 0, [new Acl(Perms.All, new Id("ip", "10.1.2.3/99"))]));
        // Neither server names the x509 or SASL provider (authProvider.N): their schemes are invalid.
        await t.OpAsync(0, OpCode.Create2, Create(r + "/x509", "x", 0, [new Acl(Perms.All, new Id("x509", "CN=client,O=Example"))]));
        await t.OpAsync(0, OpCode.Create2, Create(r + "/sasl", "s", 0, [new Acl(Perms.All, new Id("sasl", "bob"))]));
        await t.OpAsync(0, OpCode.GetData, Watch(r + "/private", false));
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/private", false));              // NoAuth
        await t.OpAsync(1, OpCode.SetData, new SetDataRequest(r + "/private", Bytes("x"), -1));
        await t.OpAsync(1, OpCode.GetAcl, new PathOnlyRequest(r + "/private"));       // NoAuth (no READ/ADMIN)
        await t.OpAsync(1, OpCode.GetAcl, new PathOnlyRequest(r + "/readonly"));
        await t.OpAsync(1, OpCode.SetData, new SetDataRequest(r + "/readonly", Bytes("x"), -1));
        await t.OpAsync(1, OpCode.Create2, Create(r + "/readonly/kid"));              // CREATE on parent
        await t.OpAsync(1, OpCode.Delete, new PathVersionRequest(r + "/private", -1)); // DELETE is on the parent: allowed
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/iponly", false));
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/otherip", false));
        await t.OpAsync(0, OpCode.GetAcl, new PathOnlyRequest(r + "/mine"));
        await t.OpAsync(1, OpCode.SetAcl, new SetAclRequest(r + "/mine", Open, -1));  // NoAuth
        await t.OpAsync(0, OpCode.SetAcl, new SetAclRequest(r + "/mine", Open, 5));   // BadVersion
        await t.OpAsync(0, OpCode.SetAcl, new SetAclRequest(r + "/mine", [new Acl(Perms.Read | Perms.Admin, alice), new Acl(Perms.Read, Id.Anyone)], 0));
        await t.OpAsync(1, OpCode.GetAcl, new PathOnlyRequest(r + "/mine"));          // digest masked without ADMIN
        await t.OpAsync(0, OpCode.SetAcl, new SetAclRequest(r + "/none", Open, -1));
        await t.OpAsync(0, OpCode.SetAcl, new SetAclRequest(r, [], -1));               // InvalidACL
        await t.AuthAsync(1, "digest", "bob:pw");
        await t.OpAsync(1, OpCode.WhoAmI, null, "whoAmI");
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/mine", false));
    });

    [Fact]
    public Task UnknownAuthSchemeFailsAndCloses() => AssertSameAsync(1, async t =>
    {
        await t.AuthAsync(0, "kerberos-nope", "x");
        t.Note("closed: " + await t.Session(0).IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        t.MarkClosed(0);
    });

    [Fact]
    public Task ChildrenCountsEphemeralsSync() => AssertSameAsync(2, async t =>
    {
        var r = NewRoot("children");
        await Create(t, 0, r);
        await Create(t, 0, r + "/a");
        await Create(t, 0, r + "/a/b");
        await Create(t, 0, r + "/a/b/c");
        await Create(t, 0, r + "/e1", "", CreateMode.Ephemeral);
        await Create(t, 1, r + "/e2", "", CreateMode.Ephemeral);
        await Create(t, 0, r + "/a/e3", "", CreateMode.Ephemeral);
        await t.OpAsync(0, OpCode.GetAllChildrenNumber, new PathOnlyRequest(r));
        await t.OpAsync(0, OpCode.GetAllChildrenNumber, new PathOnlyRequest(r + "/zz"));
        await t.OpAsync(0, OpCode.GetEphemerals, new PathOnlyRequest(r));
        await t.OpAsync(0, OpCode.GetEphemerals, new PathOnlyRequest(r + "/a"));
        await t.OpAsync(1, OpCode.GetEphemerals, new PathOnlyRequest("/"));
        await t.OpAsync(0, OpCode.GetChildren, Watch(r, false));
        await t.OpAsync(0, OpCode.GetChildren2, Watch(r + "/nothing", false));
        await t.OpAsync(0, OpCode.Sync, new PathOnlyRequest(r));
        await t.CloseSessionAsync(1);
        t.MarkClosed(1);
        await t.OpAsync(0, OpCode.GetChildren2, Watch(r, false));
    });

    [Fact]
    public Task MultiSuccessFailureAndRead() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("multi");
        await Create(t, 0, r, "d");
        await t.MultiAsync(0,
        [
            new MultiOp(OpCode.Create, Create(r + "/m1", "1")),
            new MultiOp(OpCode.Create2, Create(r + "/m2", "2")),
            new MultiOp(OpCode.SetData, new SetDataRequest(r, Bytes("d2"), 0)),
            new MultiOp(OpCode.Check, new PathVersionRequest(r, 1)),
            new MultiOp(OpCode.Delete, new PathVersionRequest(r + "/m1", 0)),
            new MultiOp(OpCode.Create, Create(r + "/s-", "", (int)CreateMode.PersistentSequential)),
        ]);
        await t.MultiAsync(0,
        [
            new MultiOp(OpCode.Create, Create(r + "/x1")),
            new MultiOp(OpCode.Check, new PathVersionRequest(r, 99)),
            new MultiOp(OpCode.Create, Create(r + "/x2")),
        ]);
        await t.MultiAsync(0,
        [
            new MultiOp(OpCode.Delete, new PathVersionRequest(r + "/m2", -1)),
            new MultiOp(OpCode.Create, Create(r + "/m2")),
            new MultiOp(OpCode.Create, Create(r + "/m2")),
        ]);
        await t.MultiAsync(0, []);
        await t.OpAsync(0, OpCode.GetChildren2, Watch(r, false));
        await t.MultiAsync(0,
        [
            new MultiOp(OpCode.GetData, Watch(r, false)),
            new MultiOp(OpCode.GetChildren, Watch(r, false)),
            new MultiOp(OpCode.GetData, Watch(r + "/absent", false)),
        ], read: true);
    });

    [Fact]
    public Task OneShotWatches() => AssertSameAsync(2, async t =>
    {
        var r = NewRoot("watch");
        await Create(t, 0, r, "d");
        await t.OpAsync(1, OpCode.GetData, Watch(r));
        await t.OpAsync(1, OpCode.GetChildren, Watch(r));
        await t.OpAsync(1, OpCode.Exists, Watch(r + "/later"));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("e"), -1));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("f"), -1));   // watch already fired
        await t.OpAsync(0, OpCode.Create2, Create(r + "/later"));
        await t.FlushEventsAsync();
        await t.OpAsync(1, OpCode.GetData, Watch(r + "/later"));
        await t.OpAsync(1, OpCode.GetChildren, Watch(r + "/later"));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/later", -1));
        await t.FlushEventsAsync();
        await t.OpAsync(0, OpCode.GetData, Watch(r));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("g"), -1));   // own watch: event before reply
        await t.OpAsync(1, OpCode.CheckWatches, new PathIntRequest(r, (int)WatcherType.Data));
        await t.OpAsync(1, OpCode.GetData, Watch(r));
        await t.OpAsync(1, OpCode.CheckWatches, new PathIntRequest(r, (int)WatcherType.Data));
        await t.OpAsync(1, OpCode.CheckWatches, new PathIntRequest(r, (int)WatcherType.Children));
        await t.OpAsync(1, OpCode.RemoveWatches, new PathIntRequest(r, (int)WatcherType.Any));
        await t.OpAsync(1, OpCode.RemoveWatches, new PathIntRequest(r, (int)WatcherType.Any));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("h"), -1));
    });

    [Fact]
    public Task PersistentAndRecursiveWatches() => AssertSameAsync(2, async t =>
    {
        var r = NewRoot("persistent");
        await Create(t, 0, r);
        await t.OpAsync(1, OpCode.AddWatch, new PathIntRequest(r, (int)AddWatchMode.Persistent));
        await t.OpAsync(1, OpCode.AddWatch, new PathIntRequest(r + "/tree", (int)AddWatchMode.PersistentRecursive));
        await Create(t, 0, r + "/a");
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("1"), -1));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("2"), -1));
        await Create(t, 0, r + "/tree");
        await Create(t, 0, r + "/tree/x");
        await Create(t, 0, r + "/tree/x/y");
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r + "/tree/x/y", Bytes("z"), -1));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/tree/x/y", -1));
        await t.FlushEventsAsync();
        await t.OpAsync(1, OpCode.RemoveWatches, new PathIntRequest(r, (int)WatcherType.Any));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("3"), -1));
        await t.OpAsync(1, OpCode.AddWatch, new PathIntRequest(r, 7));
    });

    [Fact]
    public Task SetWatchesOnReconnectFiresMissedEvents() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("setwatches");
        await Create(t, 0, r, "d");
        await Create(t, 0, r + "/kid");
        var (header, _) = await t.OpAsync(0, OpCode.Exists, Watch(r, false));
        await t.OpAsync(0, OpCode.SetData, new SetDataRequest(r, Bytes("changed"), -1));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/kid", -1));
        var request = new SetWatchesRequest(header.Zxid, [r, r + "/gone"], [r + "/kid", r + "/new"], [r], [], []);
        var reply = await t.Session(0).SendAsync(OpCode.SetWatches, w => request.Write(w, version2: false), Xids.SetWatches);
        t.Note($"setWatches -> {reply.Header.Err}");
        await t.FlushEventsAsync();
        await Create(t, 0, r + "/new");
    });

    [Fact]
    public Task PingAndCloseSession() => AssertSameAsync(2, async t =>
    {
        var r = NewRoot("close");
        await Create(t, 0, r);
        await Create(t, 1, r + "/eph", "", CreateMode.Ephemeral);
        await t.OpAsync(0, OpCode.GetData, Watch(r + "/eph"));
        await t.CloseSessionAsync(1);
        t.MarkClosed(1);
        t.Note("closed after closeSession: " + await t.Session(1).IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/eph", false));
    });

    [Fact]
    public Task ReconfigIsDisabledOnAStandaloneServer() => AssertSameAsync(1, async t =>
    {
        var reply = await t.Session(0).SendAsync(OpCode.Reconfig, w =>
        {
            w.WriteString("server.5=localhost:1234:1235;1236");
            w.WriteString(null);
            w.WriteString(null);
            w.WriteLong(-1);
        });
        t.Note($"reconfig -> {reply.Header.Err}");
        await t.OpAsync(0, OpCode.Exists, Watch("/zookeeper/config", false));
    });

    /// <summary>A reconfig whose body is not a ReconfigRequest: refused all the same, the connection kept.</summary>
    [Fact]
    public Task ReconfigWithAnUnreadableBodyIsRefusedAndTheSessionGoesOn() => AssertSameAsync(1, async t =>
    {
        var reply = await t.Session(0).SendAsync(OpCode.Reconfig, w => w.WriteInt(7));
        t.Note($"reconfig with a 4-byte body -> {reply.Header.Err}");
        await t.OpAsync(0, OpCode.Exists, Watch("/zookeeper/config", false));
    });
}
