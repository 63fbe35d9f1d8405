using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Tests.Data;

public sealed class DataTreeTests
{
    private const long Session = 0x0100000000000042;
    private readonly DataTree _tree = new();
    private static readonly IReadOnlyList<Acl> Open = Acl.OpenAclUnsafe;

    private ProcessTxnResult Apply(long zxid, OpCode type, Txn txn, long session = Session, long time = 1000) =>
        _tree.ProcessTxn(new TxnHeader(session, 1, zxid, time, type), txn);

    private static CreateTxn Create(string path, string data = "", bool ephemeral = false, int parentCVersion = -1, long ttl = 0) =>
        new(path, System.Text.Encoding.UTF8.GetBytes(data), Open, ephemeral, parentCVersion, ttl);

    [Fact]
    public void ANewTreeHasTheSystemNodes()
    {
        Assert.Equal(["zookeeper"], _tree.Root.ChildNames);
        Assert.Equal(["config", "quota"], _tree.GetNode("/zookeeper")!.ChildNames.Order(StringComparer.Ordinal));
        Assert.Equal(new Stat(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0), _tree.Root.ToStat());
        var config = _tree.GetNode("/zookeeper/config")!;
        Assert.Equal(-1, config.Aversion);
        Assert.Equal([new Acl(Perms.Read, Id.Anyone)], config.Acl);
        Assert.Equal(5, _tree.NodeCount);
        Assert.Equal(0, _tree.LastProcessedZxid);
        Assert.True(DataTree.IsSpecialPath("/zookeeper/quota"));
        Assert.False(DataTree.IsSpecialPath("/zookeeper/other"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("zookeeper")]
    [InlineData("/zookeeper/")]
    [InlineData("//zookeeper")]
    [InlineData("/zoo")]
    public void LookupsOfOtherSpellingsFindNothing(string path) => Assert.Null(_tree.GetNode(path));

    [Fact]
    public void CreateSetAclSetDataAndDeleteKeepApachesStatFields()
    {
        var created = Apply(5, OpCode.Create2, Create("/a", "abc"), time: 111);
        Assert.Equal(ErrorCode.Ok, created.Err);
        Assert.Equal("/a", created.Path);
        Assert.Equal(new Stat(5, 5, 111, 111, 0, 0, 0, 0, 3, 0, 5), created.Stat);
        Assert.Equal(5, _tree.LastProcessedZxid);
        Assert.Equal(new Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5), _tree.Root.ToStat());

        Apply(6, OpCode.Create, Create("/a/b", parentCVersion: 1), time: 222);
        var set = Apply(7, OpCode.SetData, new SetDataTxn("/a", [9], 1), time: 333);
        Assert.Equal(new Stat(5, 7, 111, 333, 1, 1, 0, 0, 1, 1, 6), set.Stat);
        var acl = Apply(8, OpCode.SetAcl, new SetAclTxn("/a", [new Acl(Perms.Read, Id.Anyone)], 1));
        Assert.Equal(new Stat(5, 7, 111, 333, 1, 1, 1, 0, 1, 1, 6), acl.Stat);
        Assert.Equal([new Acl(Perms.Read, Id.Anyone)], _tree.GetNode("/a")!.Acl);

        Apply(9, OpCode.Delete, new DeleteTxn("/a/b"));
        Assert.Equal(new Stat(5, 7, 111, 333, 1, 2, 1, 0, 1, 0, 9), _tree.GetNode("/a")!.ToStat());
        Assert.Equal(6, _tree.NodeCount);
        Assert.Equal(9, _tree.LastProcessedZxid);
    }

    [Fact]
    public void AnOldCreateTxnWithoutParentCVersionBumpsTheParentByOne()
    {
        Apply(2, OpCode.Create, Create("/p"));
        Apply(3, OpCode.Create, Create("/p/a"));
        Apply(4, OpCode.Create, Create("/p/b"));
        Assert.Equal(2, _tree.GetNode("/p")!.Cversion);
        Assert.Equal(4, _tree.GetNode("/p")!.Pzxid);
    }

    [Fact]
    public void ReplayingAnOlderCreateDoesNotMoveTheParentBack()
    {
        Apply(2, OpCode.Create, Create("/p"));
        Apply(5, OpCode.Create, Create("/p/new", parentCVersion: 3));
        Apply(3, OpCode.Create, Create("/p/old", parentCVersion: 2));
        Assert.Equal((3, 5L), (_tree.GetNode("/p")!.Cversion, _tree.GetNode("/p")!.Pzxid));

        // Nor does a delete with a smaller zxid move pzxid back; the replayed create of an existing node is NodeExists.
        Apply(4, OpCode.Delete, new DeleteTxn("/p/old"));
        Assert.Equal(5, _tree.GetNode("/p")!.Pzxid);
        Assert.Equal(ErrorCode.NodeExists, Apply(6, OpCode.Create, Create("/p/new")).Err);
        Assert.Equal(ErrorCode.NoNode, Apply(7, OpCode.Delete, new DeleteTxn("/p/none")).Err);
        Assert.Equal(7, _tree.LastProcessedZxid);
    }

    [Fact]
    public void AReplayedPlainCreateOfAnExistingNodeStillMovesTheParentForwardAsApacheDoes()
    {
        Apply(2, OpCode.Create, Create("/p"));
        Apply(3, OpCode.Create, Create("/p/a", parentCVersion: 1));
        Assert.Equal((1, 3L), (_tree.GetNode("/p")!.Cversion, _tree.GetNode("/p")!.Pzxid));

        // The node was re-created in the fuzzy window: the parent takes the txn's cversion and pzxid.
        Assert.Equal(ErrorCode.NodeExists, Apply(6, OpCode.Create, Create("/p/a", parentCVersion: 4)).Err);
        Assert.Equal((4, 6L), (_tree.GetNode("/p")!.Cversion, _tree.GetNode("/p")!.Pzxid));

        // Never backwards, and only for plain creates (Apache checks the opcode create).
        Apply(7, OpCode.Create, Create("/p/a", parentCVersion: 2));
        Apply(8, OpCode.Create2, Create("/p/a", parentCVersion: 9));
        Assert.Equal((4, 6L), (_tree.GetNode("/p")!.Cversion, _tree.GetNode("/p")!.Pzxid));
        Apply(9, OpCode.Create, Create("/p/a"));
        Assert.Equal((5, 9L), (_tree.GetNode("/p")!.Cversion, _tree.GetNode("/p")!.Pzxid));
    }

    [Fact]
    public void OwnersAreIndexedByKind()
    {
        Apply(2, OpCode.Create, Create("/e", ephemeral: true));
        Apply(3, OpCode.CreateContainer, Create("/c"));
        Apply(4, OpCode.CreateTtl, Create("/t", ttl: 500));
        Apply(5, OpCode.Create2, Create("/p"));
        Assert.Equal(["/e"], _tree.EphemeralsOf(Session));
        Assert.Equal(["/c"], _tree.Containers);
        Assert.Equal(["/t"], _tree.Ttls);
        Assert.Equal(Session, _tree.GetNode("/e")!.EphemeralOwner);
        Assert.Equal(EphemeralType.ContainerOwner, _tree.GetNode("/c")!.EphemeralOwner);
        Assert.Equal(EphemeralType.ForTtl(500), _tree.GetNode("/t")!.EphemeralOwner);
        Assert.Equal(0, _tree.GetNode("/p")!.EphemeralOwner);
        Assert.Equal(0, _tree.GetNode("/c")!.ToStat().EphemeralOwner);
        Assert.Equal(0, _tree.GetNode("/t")!.ToStat().EphemeralOwner);
        Assert.Equal(Session, _tree.GetNode("/e")!.ToStat().EphemeralOwner);
        Assert.Equal(1, _tree.EphemeralCount);

        Apply(6, OpCode.DeleteContainer, new DeleteTxn("/c"));
        Apply(7, OpCode.DeleteContainer, new DeleteTxn("/t"));
        Apply(8, OpCode.Delete, new DeleteTxn("/e"));
        Assert.Empty(_tree.Containers);
        Assert.Empty(_tree.Ttls);
        Assert.Empty(_tree.EphemeralsOf(Session));
        Assert.Empty(_tree.EphemeralsBySession);
    }

    [Fact]
    public void CloseSessionDeletesTheListedPathsAndAnyOtherEphemeralOfTheSessionAsApacheDoes()
    {
        Apply(2, OpCode.Create, Create("/e1", ephemeral: true));
        Apply(3, OpCode.Create, Create("/e2", ephemeral: true));
        Apply(4, OpCode.Create, Create("/other", ephemeral: true), session: 7);
        Apply(5, OpCode.CloseSession, new CloseSessionTxn(["/e1", "/gone"]));
        Assert.Null(_tree.GetNode("/e1"));
        Assert.Null(_tree.GetNode("/e2"));
        Assert.NotNull(_tree.GetNode("/other"));
        Assert.Empty(_tree.EphemeralsOf(Session));
        Assert.Equal(["/other"], _tree.EphemeralsOf(7));
        Assert.Equal(5, _tree.Root.Pzxid);
    }

    [Fact]
    public void CloseSessionFromAnOldLogWithoutPathsDeletesAllTheSessionsEphemerals()
    {
        Apply(2, OpCode.Create, Create("/e1", ephemeral: true));
        Apply(3, OpCode.Create, Create("/e2", ephemeral: true));
        Apply(4, OpCode.CloseSession, new CloseSessionTxn([]));
        Assert.Equal(["zookeeper"], _tree.Root.ChildNames);
    }

    [Fact]
    public void AFailedMultiReportsOkBeforeTheFailureAndRuntimeInconsistencyAfterIt()
    {
        var result = Apply(3, OpCode.Multi, new MultiTxn(
        [
            new SubTxn(OpCode.Create, Create("/m")),
            new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.NodeExists)),
            new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.RuntimeInconsistency)),
            new SubTxn(OpCode.SetData, new SetDataTxn("/x", [], 1)),
        ]));
        Assert.Equal(ErrorCode.NodeExists, result.Err);
        Assert.Equal(
            [ErrorCode.Ok, ErrorCode.NodeExists, ErrorCode.RuntimeInconsistency, ErrorCode.RuntimeInconsistency],
            result.Multi!.Select(r => r.Err));
        Assert.All(result.Multi!, r => Assert.Equal(OpCode.Error, r.Type));
        Assert.Null(_tree.GetNode("/m"));
        Assert.Equal(3, _tree.LastProcessedZxid);
    }

    [Fact]
    public void ASuccessfulMultiAppliesEverythingUnderItsZxid()
    {
        var result = Apply(3, OpCode.Multi, new MultiTxn(
        [
            new SubTxn(OpCode.Create, Create("/m", parentCVersion: 1)),
            new SubTxn(OpCode.Create, Create("/m/k", parentCVersion: 1)),
            new SubTxn(OpCode.SetData, new SetDataTxn("/m", [1, 2], 1)),
            new SubTxn(OpCode.Check, new CheckVersionTxn("/m", 2)),
            new SubTxn(OpCode.Delete, new DeleteTxn("/m/k")),
        ]), time: 50);
        Assert.Equal(ErrorCode.Ok, result.Err);
        Assert.Equal([OpCode.Create, OpCode.Create, OpCode.SetData, OpCode.Check, OpCode.Delete], result.Multi!.Select(r => r.Type));
        Assert.Equal(new Stat(3, 3, 50, 50, 1, 2, 0, 0, 2, 0, 3), _tree.GetNode("/m")!.ToStat());
    }

    [Fact]
    public void ErrorAndCreateSessionTxnsOnlyAdvanceTheZxid()
    {
        Assert.Equal(ErrorCode.BadVersion, Apply(4, OpCode.Error, new ErrorTxn(ErrorCode.BadVersion)).Err);
        Assert.Equal(ErrorCode.Ok, Apply(5, OpCode.CreateSession, new CreateSessionTxn(3000)).Err);
        Assert.Equal(5, _tree.LastProcessedZxid);
        Assert.Equal(5, _tree.NodeCount);
    }

    [Fact]
    public void DataSizeCountsPathsAndData()
    {
        var before = _tree.ApproximateDataSize;
        Apply(2, OpCode.Create, Create("/abc", "12345"));
        Assert.Equal(before + 4 + 5, _tree.ApproximateDataSize);
        Apply(3, OpCode.SetData, new SetDataTxn("/abc", [1], 1));
        Assert.Equal(before + 4 + 1, _tree.ApproximateDataSize);
        Apply(4, OpCode.Delete, new DeleteTxn("/abc"));
        Assert.Equal(before, _tree.ApproximateDataSize);
    }

    [Fact]
    public void NodesWithEqualAclsShareOneList()
    {
        IReadOnlyList<Acl> acl = [new Acl(Perms.Read, new Id("digest", "u:h"))];
        _tree.ProcessTxn(new TxnHeader(1, 1, 2, 0, OpCode.Create), new CreateTxn("/a", [], [.. acl], false, -1));
        _tree.ProcessTxn(new TxnHeader(1, 1, 3, 0, OpCode.Create), new CreateTxn("/b", [], [.. acl], false, -1));
        Assert.Same(_tree.GetNode("/a")!.Acl, _tree.GetNode("/b")!.Acl);
        Assert.Same(_tree.Root.Acl, _tree.GetNode("/zookeeper")!.Acl);
    }

    [Fact]
    public void CountDescendantsCountsTheWholeSubtree()
    {
        Apply(2, OpCode.Create, Create("/a"));
        Apply(3, OpCode.Create, Create("/a/b"));
        Apply(4, OpCode.Create, Create("/a/b/c"));
        Apply(5, OpCode.Create, Create("/a/d"));
        Assert.Equal(3, _tree.CountDescendants(_tree.GetNode("/a")!));
        Assert.Equal(7, _tree.CountDescendants(_tree.Root));
        Assert.Equal(0, _tree.CountDescendants(_tree.GetNode("/a/d")!));
    }

    [Fact]
    public void SetWatchesOnTheTreeFiresMissedEventsWithoutAclFiltering()
    {
        var watcher = new RecordingWatcher();
        Apply(2, OpCode.Create, Create("/a"));
        Apply(3, OpCode.Create, Create("/b"));
        Apply(4, OpCode.SetAcl, new SetAclTxn("/a", [new Acl(Perms.Read, new Id("digest", "u:h"))], 1));
        Apply(5, OpCode.SetData, new SetDataTxn("/a", [1], 1));
        _tree.SetWatches(3, new SetWatchesRequest(3, ["/a", "/b"], ["/b"], ["/b"], [], []), watcher);
        Assert.Equal([(EventType.NodeDataChanged, "/a", false), (EventType.NodeCreated, "/b", false)], watcher.Events);
        Assert.True(_tree.DataWatches.Contains("/b", watcher));
        Assert.True(_tree.ChildWatches.Contains("/b", watcher));
    }
}

/// <summary>Records events with whether an ACL came with them.</summary>
public sealed class RecordingWatcher : IWatcher
{
    public List<(EventType Type, string Path, bool HasAcl)> Events { get; } = [];

    public void Process(EventType type, string path, IReadOnlyList<Acl>? nodeAcl) => Events.Add((type, path, nodeAcl is not null));
}
