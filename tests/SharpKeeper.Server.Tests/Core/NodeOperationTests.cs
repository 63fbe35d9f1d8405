using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

public sealed class NodeOperationTests
{
    private const long T0 = ManualClock.StartWall;
    private readonly CoreHarness _h = new();
    private readonly FakeConnection _c;

    public NodeOperationTests()
    {
        // createSession takes zxid 1.
        _c = _h.Connect();
    }

    [Fact]
    public void CreateGetSetDeleteWithExactStats()
    {
        var created = _h.Call(_c, OpCode.Create2, Req.Create("/a", "hello"));
        Assert.Equal(ErrorCode.Ok, created.Err);
        Assert.Equal(2, created.Zxid);
        Assert.Equal(new CreateResponse("/a", new Stat(2, 2, T0, T0, 0, 0, 0, 0, 5, 0, 2)), created.Body);

        _h.Clock.Advance(1000);
        var plain = _h.Call(_c, OpCode.Create, Req.Create("/a/b", "x"));
        Assert.Equal((3L, ErrorCode.Ok), (plain.Zxid, plain.Err));
        Assert.Equal(new CreateResponse("/a/b", null), plain.Body);

        var read = _h.Call(_c, OpCode.GetData, Req.Watch("/a"));
        Assert.Equal("hello", Req.Text(read.Body));
        Assert.Equal(new Stat(2, 2, T0, T0, 0, 1, 0, 0, 5, 1, 3), ((GetDataResponse)read.Body!).Stat);
        Assert.Equal(3, read.Zxid);

        _h.Clock.Advance(1000);
        var set = _h.Call(_c, OpCode.SetData, Req.SetData("/a", "bye", version: 0));
        Assert.Equal((4L, ErrorCode.Ok), (set.Zxid, set.Err));
        Assert.Equal(new StatResponse(new Stat(2, 4, T0, T0 + 2000, 1, 1, 0, 0, 3, 1, 3)), set.Body);

        var stale = _h.Call(_c, OpCode.SetData, Req.SetData("/a", "no", version: 0));
        Assert.Equal(new ReplyHeader(stale.Xid, 5, ErrorCode.BadVersion), stale.Header);
        Assert.Null(stale.Body);

        Assert.Equal(new ReplyHeader(0, 6, ErrorCode.NotEmpty), _h.Call(_c, OpCode.Delete, Req.Delete("/a")).Header with { Xid = 0 });
        Assert.Equal(ErrorCode.BadVersion, _h.Call(_c, OpCode.Delete, Req.Delete("/a/b", 5)).Err);
        var deleted = _h.Call(_c, OpCode.Delete, Req.Delete("/a/b", 0));
        Assert.Equal((8L, ErrorCode.Ok), (deleted.Zxid, deleted.Err));
        Assert.Null(deleted.Body);

        // cversion counts the create and the delete; pzxid is the delete's zxid.
        var exists = _h.Call(_c, OpCode.Exists, Req.Watch("/a"));
        Assert.Equal(new StatResponse(new Stat(2, 4, T0, T0 + 2000, 1, 2, 0, 0, 3, 0, 8)), exists.Body);
        var children = _h.Call(_c, OpCode.GetChildren2, Req.Watch("/a"));
        Assert.Equal(new Stat(2, 4, T0, T0 + 2000, 1, 2, 0, 0, 3, 0, 8), ((GetChildrenResponse)children.Body!).Stat);
        Assert.Empty(((GetChildrenResponse)children.Body!).Children);

        Assert.Equal(9, _h.Call(_c, OpCode.Delete, Req.Delete("/a", 1)).Zxid);
        var gone = _h.Call(_c, OpCode.Exists, Req.Watch("/a"));
        Assert.Equal(new ReplyHeader(gone.Xid, 9, ErrorCode.NoNode), gone.Header);
        Assert.Null(gone.Body);
        Assert.Equal(ErrorCode.NoNode, _h.Call(_c, OpCode.GetData, Req.Watch("/a")).Err);

        // The root: stored cversion 1 (one create), one child left (/zookeeper): 2 * 1 - 1.
        var root = _h.StatOf("/");
        Assert.Equal((1, 1, 9L), (root.Cversion, root.NumChildren, root.Pzxid));
    }

    [Fact]
    public void AFreshTreeLooksLikeApaches()
    {
        var root = ((StatResponse)_h.Call(_c, OpCode.Exists, Req.Watch("/")).Body!).Stat;
        Assert.Equal(new Stat(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0), root);
        var zk = (GetChildrenResponse)_h.Call(_c, OpCode.GetChildren2, Req.Watch("/zookeeper")).Body!;
        Assert.Equal(["config", "quota"], zk.Children.Order(StringComparer.Ordinal));
        Assert.Equal(-2, zk.Stat!.Value.Cversion);
        var config = (GetAclResponse)_h.Call(_c, OpCode.GetAcl, Req.Path("/zookeeper/config")).Body!;
        Assert.Equal([new Acl(Perms.Read, Id.Anyone)], config.Acl);
        Assert.Equal(-1, config.Stat.Aversion);
        Assert.Equal(ErrorCode.NoAuth, _h.Call(_c, OpCode.SetData, Req.SetData("/zookeeper/config", "x")).Err);
    }

    [Fact]
    public void TheRootAndTheSystemNodesCannotBeCreatedAgain()
    {
        Assert.Equal(ErrorCode.NodeExists, _h.Create(_c, "/").Err);
        Assert.Equal(ErrorCode.NodeExists, _h.Create(_c, "/zookeeper").Err);
        Assert.Equal(ErrorCode.NodeExists, _h.Create(_c, "/zookeeper/config").Err);
        Assert.Equal(4, _h.LastZxid);
    }

    [Fact]
    public void FailedWritesConsumeAZxidAsErrorTxns()
    {
        Assert.Equal(2, _h.Create(_c, "/z").Zxid);
        var failed = _h.Create(_c, "/z");
        Assert.Equal(new ReplyHeader(failed.Xid, 3, ErrorCode.NodeExists), failed.Header);
        var (header, txn) = _h.Log.Entries[^1];
        Assert.Equal(new TxnHeader(_c.SessionId, failed.Xid, 3, T0, OpCode.Error), header);
        Assert.Equal(new ErrorTxn(ErrorCode.NodeExists), txn);
        Assert.Equal(3, _h.LastZxid);
        Assert.Equal(4, _h.Create(_c, "/y").Zxid);
    }

    [Fact]
    public void SequentialNamesComeFromTheParentsCreateCount()
    {
        _h.MustCreate(_c, "/s");
        Assert.Equal("/s/n-0000000000", _h.MustCreate(_c, "/s/n-", mode: CreateMode.PersistentSequential));
        _h.MustCreate(_c, "/s/x");
        Assert.Equal("/s/n-0000000002", _h.MustCreate(_c, "/s/n-", mode: CreateMode.PersistentSequential));

        // Deletes do not advance the counter; a failed create does not either.
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.Delete, Req.Delete("/s/x")).Err);
        Assert.Equal(ErrorCode.InvalidAcl, _h.Create(_c, "/s/bad-", mode: CreateMode.PersistentSequential, acl: []).Err);
        Assert.Equal("/s/n-0000000003", _h.MustCreate(_c, "/s/n-", mode: CreateMode.PersistentSequential));

        var ephemeral = _h.Create(_c, "/s/e-", mode: CreateMode.EphemeralSequential);
        Assert.Equal("/s/e-0000000004", ((CreateResponse)ephemeral.Body!).Path);
        Assert.Equal(_c.SessionId, ((CreateResponse)ephemeral.Body!).Stat!.Value.EphemeralOwner);

        // A bare parent path with a trailing slash is allowed for sequential nodes.
        Assert.Equal("/s/0000000005", _h.MustCreate(_c, "/s/", mode: CreateMode.PersistentSequential));
        Assert.Equal(["0000000005", "e-0000000004", "n-0000000000", "n-0000000002", "n-0000000003"],
            ((GetChildrenResponse)_h.Call(_c, OpCode.GetChildren, Req.Watch("/s")).Body!).Children.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(0, "0000000000")]
    [InlineData(42, "0000000042")]
    [InlineData(int.MaxValue, "2147483647")]
    [InlineData(-1, "-000000001")]
    [InlineData(int.MinValue, "-2147483648")]
    public void SequenceSuffixIsJavasPercent010d(int value, string expected) =>
        Assert.Equal(expected, RequestPreparer.FormatSequence(value));

    [Fact]
    public void EphemeralsCannotHaveChildren()
    {
        _h.MustCreate(_c, "/e", mode: CreateMode.Ephemeral);
        var refused = _h.Create(_c, "/e/kid");
        Assert.Equal(new ReplyHeader(refused.Xid, 3, ErrorCode.NoChildrenForEphemerals), refused.Header);
        Assert.Equal(ErrorCode.NoChildrenForEphemerals, _h.Create(_c, "/e/kid-", mode: CreateMode.EphemeralSequential).Err);
        Assert.Equal(0, _h.StatOf("/e").NumChildren);
        Assert.Equal(0, _h.StatOf("/e").Cversion);
    }

    [Fact]
    public void GetEphemeralsListsTheSessionsOwnByPrefix()
    {
        var other = _h.Connect();
        _h.MustCreate(_c, "/app");
        _h.MustCreate(_c, "/app/e1", mode: CreateMode.Ephemeral);
        _h.MustCreate(_c, "/e2", mode: CreateMode.Ephemeral);
        _h.MustCreate(other, "/app/theirs", mode: CreateMode.Ephemeral);

        static IEnumerable<string> Sorted(Reply r) => ((StringListResponse)r.Body!).Values.Order(StringComparer.Ordinal);
        Assert.Equal(["/app/e1", "/e2"], Sorted(_h.Call(_c, OpCode.GetEphemerals, Req.Path("/"))));
        Assert.Equal(["/app/e1", "/e2"], Sorted(_h.Call(_c, OpCode.GetEphemerals, Req.Path(" "))));
        Assert.Equal(["/app/e1"], Sorted(_h.Call(_c, OpCode.GetEphemerals, Req.Path("/app"))));
        Assert.Equal(["/app/theirs"], Sorted(_h.Call(other, OpCode.GetEphemerals, Req.Path("/"))));
    }

    [Fact]
    public void ContainerOwnerIsHiddenFromClientsAndContainersMayHaveChildren()
    {
        var created = _h.Call(_c, OpCode.CreateContainer, Req.Create("/c", "d", CreateMode.Container));
        Assert.Equal(new CreateResponse("/c", new Stat(2, 2, T0, T0, 0, 0, 0, 0, 1, 0, 2)), created.Body);
        Assert.Equal(EphemeralType.ContainerOwner, _h.Core.Tree.GetNode("/c")!.EphemeralOwner);
        Assert.Equal(OpCode.CreateContainer, _h.Log.Entries[^1].Header.Type);
        Assert.Equal(ErrorCode.Ok, _h.Create(_c, "/c/kid").Err);
        Assert.Contains("/c", _h.Core.Tree.Containers);
    }

    [Fact]
    public void SetAclChecksAndBumpsTheAclVersion()
    {
        _h.MustCreate(_c, "/n", "v");
        var stale = _h.Call(_c, OpCode.SetAcl, Req.SetAcl("/n", Req.Open, version: 3));
        Assert.Equal(ErrorCode.BadVersion, stale.Err);
        var set = _h.Call(_c, OpCode.SetAcl, Req.SetAcl("/n", [Req.World(Perms.Read | Perms.Admin)], version: 0));
        Assert.Equal(ErrorCode.Ok, set.Err);
        Assert.Equal(new StatResponse(new Stat(2, 2, T0, T0, 0, 0, 1, 0, 1, 0, 2)), set.Body);
        var acl = (GetAclResponse)_h.Call(_c, OpCode.GetAcl, Req.Path("/n")).Body!;
        Assert.Equal([Req.World(Perms.Read | Perms.Admin)], acl.Acl);
        Assert.Equal(1, acl.Stat.Aversion);
        Assert.Equal(ErrorCode.NoAuth, _h.Call(_c, OpCode.SetData, Req.SetData("/n", "w")).Err);
        Assert.Equal(ErrorCode.NoNode, _h.Call(_c, OpCode.SetAcl, Req.SetAcl("/none", Req.Open)).Err);
        Assert.Equal(ErrorCode.InvalidAcl, _h.Call(_c, OpCode.SetAcl, Req.SetAcl("/none", [])).Err);
    }

    [Fact]
    public void SyncEchoesThePathAndCountsAndWhoAmIWork()
    {
        _h.MustCreate(_c, "/a");
        _h.MustCreate(_c, "/a/b");
        _h.MustCreate(_c, "/a/b/c");
        var sync = _h.Call(_c, OpCode.Sync, Req.Path("/a"));
        Assert.Equal(new PathResponse("/a"), sync.Body);
        Assert.Equal(4, sync.Zxid);
        Assert.Equal(new IntResponse(2), _h.Call(_c, OpCode.GetAllChildrenNumber, Req.Path("/a")).Body);
        Assert.Equal(new IntResponse(6), _h.Call(_c, OpCode.GetAllChildrenNumber, Req.Path("/")).Body);
        Assert.Equal(ErrorCode.NoNode, _h.Call(_c, OpCode.GetAllChildrenNumber, Req.Path("/x")).Err);

        var who = (WhoAmIResponse)_h.Call(_c, OpCode.WhoAmI).Body!;
        Assert.Equal([new ClientInfo("ip", "127.0.0.1")], who.Clients);
        _h.AddAuth(_c, "alice:secret");
        who = (WhoAmIResponse)_h.Call(_c, OpCode.WhoAmI).Body!;
        Assert.Equal([new ClientInfo("digest", "alice"), new ClientInfo("ip", "127.0.0.1")], who.Clients);
        Assert.Equal(4, _h.Log.Entries.Count);
    }

    [Theory]
    [InlineData("a", ErrorCode.BadArguments)]
    [InlineData("", ErrorCode.BadArguments)]
    [InlineData("/x/", ErrorCode.BadArguments)]
    [InlineData("//x", ErrorCode.BadArguments)]
    [InlineData("/x/..", ErrorCode.BadArguments)]
    [InlineData("/x\u0000y", ErrorCode.BadArguments)]
    [InlineData("/x\u0001", ErrorCode.BadArguments)]
    [InlineData("/x\ufff0", ErrorCode.BadArguments)]
    [InlineData("/x/\u007f", ErrorCode.BadArguments)]

    // As ZooKeeper: the parent is looked up before the whole path is validated.
    [InlineData("/a/", ErrorCode.NoNode)]
    [InlineData("/x//y", ErrorCode.NoNode)]
    [InlineData("/./x", ErrorCode.NoNode)]
    public void BadPathsInWritesFailAndConsumeAZxid(string path, ErrorCode createError)
    {
        _h.MustCreate(_c, "/x");
        var create = _h.Create(_c, path);
        Assert.Equal(createError, create.Err);
        Assert.Equal(3, create.Zxid);
        Assert.Equal(OpCode.Error, _h.Log.Entries[^1].Header.Type);
        Assert.Equal(ErrorCode.BadArguments, _h.Call(_c, OpCode.SetData, Req.SetData(path, "d")).Err);
        Assert.Equal(ErrorCode.BadArguments, _h.Call(_c, OpCode.SetAcl, Req.SetAcl(path, Req.Open)).Err);
        Assert.Equal(5, _h.LastZxid);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/zookeeper")]
    [InlineData("/zookeeper/quota")]
    [InlineData("/zookeeper/config")]
    [InlineData("nope")]
    [InlineData("/a\u0000")]
    public void DeletingSpecialOrMalformedPathsIsBadArguments(string path)
    {
        var reply = _h.Call(_c, OpCode.Delete, Req.Delete(path));
        Assert.Equal(new ReplyHeader(reply.Xid, 2, ErrorCode.BadArguments), reply.Header);
        Assert.NotNull(_h.Core.Tree.GetNode("/zookeeper/config"));
    }

    [Fact]
    public void ReadsOfMalformedPathsAreNoNodeExceptNulInExists()
    {
        Assert.Equal(ErrorCode.NoNode, _h.Call(_c, OpCode.GetData, Req.Watch("bad")).Err);
        Assert.Equal(ErrorCode.NoNode, _h.Call(_c, OpCode.GetChildren, Req.Watch("/zookeeper/")).Err);
        Assert.Equal(ErrorCode.BadArguments, _h.Call(_c, OpCode.Exists, Req.Watch("/a\u0000b")).Err);
        Assert.Single(_h.Log.Entries);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(42)]
    [InlineData(-1)]
    public void UnknownCreateFlagsAreBadArguments(int flags)
    {
        var reply = _h.Call(_c, OpCode.Create2, Req.CreateFlags("/f", flags));
        Assert.Equal(new ReplyHeader(reply.Xid, 2, ErrorCode.BadArguments), reply.Header);
        Assert.Null(_h.Core.Tree.GetNode("/f"));
    }

    [Theory]
    [InlineData(OpCode.Create2, CreateMode.PersistentWithTtl, 0)]
    [InlineData(OpCode.Create, CreateMode.PersistentSequentialWithTtl, 0)]
    [InlineData(OpCode.CreateTtl, CreateMode.PersistentWithTtl, 0)]
    [InlineData(OpCode.CreateTtl, CreateMode.PersistentWithTtl, -5)]
    [InlineData(OpCode.CreateTtl, CreateMode.PersistentWithTtl, EphemeralType.MaxTtl + 1)]
    [InlineData(OpCode.CreateTtl, CreateMode.Persistent, 1000)]
    [InlineData(OpCode.CreateTtl, CreateMode.Ephemeral, 1000)]
    public void InconsistentTtlAndModeAreBadArguments(OpCode op, CreateMode mode, long ttl)
    {
        var reply = _h.Call(_c, op, Req.CreateFlags("/t", (int)mode, ttl));
        Assert.Equal(ErrorCode.BadArguments, reply.Err);
        Assert.Equal(2, reply.Zxid);
    }

    [Theory]
    [InlineData(OpCode.CreateTtl, 1000)]
    [InlineData(OpCode.Create2, 0)]
    public void TtlNodesAreUnimplementedWithoutExtendedTypes(OpCode op, long ttl)
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { ExtendedTypesEnabled = false });
        var c = h.Connect();
        var reply = h.Call(c, op, Req.CreateFlags("/t", (int)CreateMode.PersistentWithTtl, ttl));
        Assert.Equal(new ReplyHeader(reply.Xid, 2, ErrorCode.Unimplemented), reply.Header);
        Assert.Null(h.Core.Tree.GetNode("/t"));
    }

    [Fact]
    public void TtlNodeHidesItsOwnerAndKeepsItsTtl()
    {
        var reply = _h.Call(_c, OpCode.CreateTtl, Req.Create("/t", "x", CreateMode.PersistentWithTtl, ttl: 5000));
        Assert.Equal(new CreateResponse("/t", new Stat(2, 2, T0, T0, 0, 0, 0, 0, 1, 0, 2)), reply.Body);
        Assert.Equal(EphemeralType.ForTtl(5000), _h.Core.Tree.GetNode("/t")!.EphemeralOwner);
        Assert.Equal(OpCode.CreateTtl, _h.Log.Entries[^1].Header.Type);
        Assert.Equal(5000, ((CreateTxn)_h.Log.Entries[^1].Txn).Ttl);
        Assert.Equal("/t/s0000000000", _h.MustCreate(_c, "/t/s", mode: CreateMode.PersistentSequential));
        var seq = _h.Call(_c, OpCode.CreateTtl, Req.Create("/q-", mode: CreateMode.PersistentSequentialWithTtl, ttl: 100));
        Assert.Equal("/q-0000000001", ((CreateResponse)seq.Body!).Path);
    }

    [Fact]
    public void ReconfigIsRefusedLikeAStandaloneApacheServerAndTakesAZxid()
    {
        _h.Core.Handle(new RequestMessage(new ClientRequest
        {
            Connection = _c,
            Xid = 41,
            Type = OpCode.Reconfig,
            Reconfig = new ReconfigRequest("server.5=h:1:2;3", null, null, -1),
        }));
        _h.Core.EndBatch();
        _h.Sync();
        Assert.Equal(new ReplyHeader(41, 2, ErrorCode.ReconfigDisabled), _c.ReplyTo(41).Header);
        Assert.Equal(new ErrorTxn(ErrorCode.ReconfigDisabled), _h.Log.Entries[^1].Txn);
    }

    [Fact]
    public void WithReconfigEnabledAStandaloneServerAnswersUnimplementedAsApachesDoes()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { ReconfigEnabled = true });
        var c = h.Connect();
        h.Core.Handle(new RequestMessage(new ClientRequest
        {
            Connection = c,
            Xid = 7,
            Type = OpCode.Reconfig,
            Reconfig = new ReconfigRequest(null, "2", null, -1),
        }));
        h.Core.EndBatch();
        h.Sync();
        Assert.Equal(new ReplyHeader(7, 2, ErrorCode.Unimplemented), c.ReplyTo(7).Header);
        Assert.Equal(new ErrorTxn(ErrorCode.Unimplemented), h.Log.Entries[^1].Txn);
    }

    [Fact]
    public void AReconfigWhoseBodyCouldNotBeReadIsAMarshallingErrorWithoutATxn()
    {
        var logged = _h.Log.Entries.Count;
        var reply = _h.Call(_c, OpCode.Reconfig);
        Assert.Equal(new ReplyHeader(reply.Xid, 1, ErrorCode.MarshallingError), reply.Header);
        Assert.Equal(logged, _h.Log.Entries.Count);
    }

    [Fact]
    public void AStandaloneCheckIsUnimplementedAndClosesTheConnectionAsInZooKeeper()
    {
        _h.MustCreate(_c, "/n");
        var xid = _h.Send(_c, OpCode.Check, Req.Check("/n", 0));
        var reply = _c.ReplyTo(xid);
        Assert.Equal(new ReplyHeader(xid, -1, ErrorCode.Unimplemented), reply.Header);
        Assert.IsType<Closed>(_c.Log[^1]);
        Assert.Equal(2, _h.Log.Entries.Count);
    }
}
