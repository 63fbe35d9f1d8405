using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Tests.Core;

public sealed class WatchTests
{
    private readonly CoreHarness _h = new();
    private readonly FakeConnection _writer;
    private readonly FakeConnection _watcher;

    public WatchTests()
    {
        _writer = _h.Connect();
        _watcher = _h.Connect();
    }

    private static Notification N(EventType type, string path) => new(type, path);

    private void Ok(FakeConnection c, OpCode op, PathRequest body) => Assert.Equal(ErrorCode.Ok, _h.Call(c, op, body).Err);

    [Fact]
    public void ADataWatchFiresOnceOnTheFirstChange()
    {
        _h.MustCreate(_writer, "/w", "0");
        Ok(_watcher, OpCode.GetData, Req.Watch("/w", true));
        Ok(_writer, OpCode.SetData, Req.SetData("/w", "1"));
        Ok(_writer, OpCode.SetData, Req.SetData("/w", "2"));
        Ok(_writer, OpCode.Delete, Req.Delete("/w"));
        Assert.Equal([N(EventType.NodeDataChanged, "/w")], _watcher.Events);
        Assert.Empty(_writer.Events);
        Assert.Equal(0, _h.Core.Tree.DataWatches.WatchCount);
    }

    [Fact]
    public void TheWatcherSeesTheEventBeforeTheReplyOfTheWriteThatCausedIt()
    {
        _h.MustCreate(_writer, "/w", "0");
        Ok(_writer, OpCode.GetData, Req.Watch("/w", true));
        var xid = _h.Send(_writer, OpCode.SetData, Req.SetData("/w", "1"));
        Assert.Empty(_writer.Events);
        _h.Sync();
        var last = _writer.Log.TakeLast(2).ToList();
        Assert.Equal(N(EventType.NodeDataChanged, "/w"), last[0]);
        Assert.Equal(xid, Assert.IsType<Reply>(last[1]).Xid);
    }

    [Fact]
    public void AReadQueuedBehindAWriteIsAnsweredAfterTheEventOfThatWrite()
    {
        _h.MustCreate(_writer, "/w", "0");
        Ok(_writer, OpCode.Exists, Req.Watch("/w", true));
        var set = _h.Send(_writer, OpCode.SetData, Req.SetData("/w", "1"));
        var get = _h.Send(_writer, OpCode.GetData, Req.Watch("/w", true));
        _h.Sync();
        Assert.Equal(
            [N(EventType.NodeDataChanged, "/w"), (Sent)_writer.ReplyTo(set), _writer.ReplyTo(get)],
            _writer.Log.TakeLast(3));
        Assert.True(_h.Core.Tree.DataWatches.Contains("/w", _writer));
    }

    [Fact]
    public void AChildWatchFiresOnceForChildrenChangesOnly()
    {
        _h.MustCreate(_writer, "/p");
        Ok(_watcher, OpCode.GetChildren, Req.Watch("/p", true));
        Ok(_writer, OpCode.SetData, Req.SetData("/p", "data"));
        Assert.Empty(_watcher.Events);
        _h.MustCreate(_writer, "/p/a");
        _h.MustCreate(_writer, "/p/b");
        Assert.Equal([N(EventType.NodeChildrenChanged, "/p")], _watcher.Events);

        Ok(_watcher, OpCode.GetChildren2, Req.Watch("/p", true));
        Ok(_writer, OpCode.Delete, Req.Delete("/p/a"));
        Assert.Equal([N(EventType.NodeChildrenChanged, "/p"), N(EventType.NodeChildrenChanged, "/p")], _watcher.Events);
    }

    [Fact]
    public void AnExistsWatchOnAMissingNodeFiresNodeCreated()
    {
        var reply = _h.Call(_watcher, OpCode.Exists, Req.Watch("/later", true));
        Assert.Equal(ErrorCode.NoNode, reply.Err);
        Assert.True(_h.Core.Tree.DataWatches.Contains("/later", _watcher));
        _h.MustCreate(_writer, "/later", "x");
        Ok(_writer, OpCode.SetData, Req.SetData("/later", "y"));
        Assert.Equal([N(EventType.NodeCreated, "/later")], _watcher.Events);
    }

    [Fact]
    public void GetDataOnAMissingNodeLeavesNoWatch()
    {
        Assert.Equal(ErrorCode.NoNode, _h.Call(_watcher, OpCode.GetData, Req.Watch("/later", true)).Err);
        Assert.Equal(ErrorCode.NoNode, _h.Call(_watcher, OpCode.GetChildren, Req.Watch("/later", true)).Err);
        _h.MustCreate(_writer, "/later");
        Assert.Empty(_watcher.Events);
    }

    [Fact]
    public void DeletingANodeWatchedForDataAndChildrenNotifiesOnceAndTheParentsChildWatch()
    {
        _h.MustCreate(_writer, "/p");
        _h.MustCreate(_writer, "/p/n");
        Ok(_watcher, OpCode.GetData, Req.Watch("/p/n", true));
        Ok(_watcher, OpCode.GetChildren, Req.Watch("/p/n", true));
        Ok(_watcher, OpCode.GetChildren, Req.Watch("/p", true));
        Ok(_writer, OpCode.Delete, Req.Delete("/p/n"));
        Assert.Equal([N(EventType.NodeDeleted, "/p/n"), N(EventType.NodeChildrenChanged, "/p")], _watcher.Events);
        Assert.Equal(0, _h.Core.Tree.DataWatches.WatchCount + _h.Core.Tree.ChildWatches.WatchCount);
    }

    [Fact]
    public void EventsOnNodesTheWatcherMayNotReadAreDropped()
    {
        Assert.Equal(ErrorCode.NoNode, _h.Call(_watcher, OpCode.Exists, Req.Watch("/secret", true)).Err);
        Ok(_watcher, OpCode.GetChildren, Req.Watch("/", true));
        _h.MustCreate(_writer, "/secret", acl: [Req.DigestAcl("u:p")]);

        // The root's change is readable; the node's creation is not.
        Assert.Equal([N(EventType.NodeChildrenChanged, "/")], _watcher.Events);
        Assert.Equal([N(EventType.NodeCreated, "/secret")], _watcher.Filtered);

        // Once the watcher authenticates, it is told.
        _h.AddAuth(_watcher, "u:p");
        Assert.Equal(ErrorCode.Ok, _h.Call(_watcher, OpCode.Exists, Req.Watch("/secret", true)).Err);
        _h.AddAuth(_writer, "u:p");
        Ok(_writer, OpCode.SetData, Req.SetData("/secret", "s"));
        Assert.Equal(N(EventType.NodeDataChanged, "/secret"), _watcher.Events.Last());
    }

    [Fact]
    public void APersistentWatchStaysAndCoversTheNodeAndItsChildrenList()
    {
        var reply = _h.Call(_watcher, OpCode.AddWatch, Req.AddWatch("/p", AddWatchMode.Persistent));
        Assert.Equal(new IntResponse(0), reply.Body);
        Assert.Equal(ErrorCode.Ok, reply.Err);

        _h.MustCreate(_writer, "/p");
        Ok(_writer, OpCode.SetData, Req.SetData("/p", "1"));
        Ok(_writer, OpCode.SetData, Req.SetData("/p", "2"));
        _h.MustCreate(_writer, "/p/c");
        _h.MustCreate(_writer, "/p/c/d");
        Ok(_writer, OpCode.SetData, Req.SetData("/p/c", "x"));
        Ok(_writer, OpCode.Delete, Req.Delete("/p/c/d"));
        Ok(_writer, OpCode.Delete, Req.Delete("/p/c"));
        Ok(_writer, OpCode.Delete, Req.Delete("/p"));
        _h.MustCreate(_writer, "/p");
        Assert.Equal(
        [
            N(EventType.NodeCreated, "/p"),
            N(EventType.NodeDataChanged, "/p"),
            N(EventType.NodeDataChanged, "/p"),
            N(EventType.NodeChildrenChanged, "/p"),
            N(EventType.NodeChildrenChanged, "/p"),
            N(EventType.NodeDeleted, "/p"),
            N(EventType.NodeCreated, "/p"),
        ], _watcher.Events);
    }

    [Fact]
    public void APersistentRecursiveWatchCoversTheSubtreeButNeverChildrenChanged()
    {
        _h.MustCreate(_writer, "/r");
        Ok(_watcher, OpCode.AddWatch, Req.AddWatch("/r", AddWatchMode.PersistentRecursive));
        _h.MustCreate(_writer, "/r/a");
        _h.MustCreate(_writer, "/r/a/b", "0");
        Ok(_writer, OpCode.SetData, Req.SetData("/r/a/b", "1"));
        Ok(_writer, OpCode.SetData, Req.SetData("/r/a/b", "2"));
        Ok(_writer, OpCode.SetData, Req.SetData("/r", "top"));
        _h.MustCreate(_writer, "/rx");
        Ok(_writer, OpCode.Delete, Req.Delete("/r/a/b"));
        Ok(_writer, OpCode.Delete, Req.Delete("/r/a"));
        Assert.Equal(
        [
            N(EventType.NodeCreated, "/r/a"),
            N(EventType.NodeCreated, "/r/a/b"),
            N(EventType.NodeDataChanged, "/r/a/b"),
            N(EventType.NodeDataChanged, "/r/a/b"),
            N(EventType.NodeDataChanged, "/r"),
            N(EventType.NodeDeleted, "/r/a/b"),
            N(EventType.NodeDeleted, "/r/a"),
        ], _watcher.Events);
    }

    [Fact]
    public void ARecursiveWatchOnTheRootSeesEverythingButChildrenChanged()
    {
        Ok(_watcher, OpCode.AddWatch, Req.AddWatch("/", AddWatchMode.PersistentRecursive));
        _h.MustCreate(_writer, "/a");
        Ok(_writer, OpCode.Delete, Req.Delete("/a"));
        Assert.Equal([N(EventType.NodeCreated, "/a"), N(EventType.NodeDeleted, "/a")], _watcher.Events);
    }

    [Fact]
    public void AnUnknownAddWatchModeIsAMarshallingError()
    {
        var reply = _h.Call(_watcher, OpCode.AddWatch, new PathIntRequest("/p", 2));
        Assert.Equal(ErrorCode.MarshallingError, reply.Err);
        Assert.Equal(0, _h.Core.Tree.DataWatches.WatchCount);
    }

    [Fact]
    public void SetWatchesFiresWhatTheClientMissedAndRegistersTheRest()
    {
        _h.MustCreate(_writer, "/d");          // 3
        _h.MustCreate(_writer, "/c");          // 4
        _h.MustCreate(_writer, "/gone");       // 5
        _h.MustCreate(_writer, "/still");      // 6
        _h.MustCreate(_writer, "/cstill");     // 7
        const long seen = 7;
        Ok(_writer, OpCode.SetData, Req.SetData("/d", "changed"));
        _h.MustCreate(_writer, "/c/k");
        Ok(_writer, OpCode.Delete, Req.Delete("/gone"));
        _h.MustCreate(_writer, "/new");

        var request = new SetWatchesRequest(seen, ["/d", "/gone", "/still"], ["/new", "/absent"], ["/c", "/cstill", "/gone"], [], []);
        var reply = _h.Call(_watcher, OpCode.SetWatches, setWatches: request, xid: Xids.SetWatches);
        Assert.Equal(new ReplyHeader(Xids.SetWatches, 11, ErrorCode.Ok), reply.Header);
        Assert.Equal(
        [
            N(EventType.NodeDataChanged, "/d"),
            N(EventType.NodeDeleted, "/gone"),
            N(EventType.NodeCreated, "/new"),
            N(EventType.NodeChildrenChanged, "/c"),
            N(EventType.NodeDeleted, "/gone"),
            reply,
        ], _watcher.Log.Skip(1));

        Ok(_writer, OpCode.SetData, Req.SetData("/still", "x"));
        _h.MustCreate(_writer, "/absent");
        _h.MustCreate(_writer, "/cstill/k");
        Ok(_writer, OpCode.SetData, Req.SetData("/d", "again"));
        Assert.Equal(
            [N(EventType.NodeDataChanged, "/still"), N(EventType.NodeCreated, "/absent"), N(EventType.NodeChildrenChanged, "/cstill")],
            _watcher.Events.Skip(5));
    }

    [Fact]
    public void SetWatches2RestoresPersistentWatches()
    {
        _h.MustCreate(_writer, "/p");
        _h.MustCreate(_writer, "/r");
        var request = new SetWatchesRequest(_h.LastZxid, [], [], [], ["/p"], ["/r"]);
        Assert.Equal(ErrorCode.Ok, _h.Call(_watcher, OpCode.SetWatches2, setWatches: request, xid: Xids.SetWatches).Err);
        _h.MustCreate(_writer, "/p/x");
        _h.MustCreate(_writer, "/r/x");
        Ok(_writer, OpCode.SetData, Req.SetData("/p", "1"));
        Ok(_writer, OpCode.SetData, Req.SetData("/p", "2"));
        Assert.Equal(
        [
            N(EventType.NodeChildrenChanged, "/p"),
            N(EventType.NodeCreated, "/r/x"),
            N(EventType.NodeDataChanged, "/p"),
            N(EventType.NodeDataChanged, "/p"),
        ], _watcher.Events);
    }

    [Fact]
    public void CheckAndRemoveWatchesLookAtThisSessionsWatchesOfTheGivenType()
    {
        _h.MustCreate(_writer, "/w");
        Ok(_watcher, OpCode.GetData, Req.Watch("/w", true));
        Ok(_writer, OpCode.GetChildren, Req.Watch("/w", true));

        ErrorCode Check(WatcherType type) => _h.Call(_watcher, OpCode.CheckWatches, Req.Watches("/w", type)).Err;
        ErrorCode Remove(WatcherType type) => _h.Call(_watcher, OpCode.RemoveWatches, Req.Watches("/w", type)).Err;

        Assert.Equal(ErrorCode.Ok, Check(WatcherType.Data));
        Assert.Equal(ErrorCode.Ok, Check(WatcherType.Any));
        Assert.Equal(ErrorCode.NoWatcher, Check(WatcherType.Children));
        Assert.Equal(ErrorCode.NoWatcher, Remove(WatcherType.Children));
        Assert.Equal(ErrorCode.Ok, Remove(WatcherType.Data));
        Assert.Equal(ErrorCode.NoWatcher, Check(WatcherType.Data));
        Assert.Equal(ErrorCode.NoWatcher, Check(WatcherType.Any));
        Assert.Equal(ErrorCode.NoWatcher, Remove(WatcherType.Any));

        // The other session's child watch is untouched; nothing reaches the watcher any more.
        Ok(_writer, OpCode.SetData, Req.SetData("/w", "x"));
        _h.MustCreate(_writer, "/w/k");
        Assert.Empty(_watcher.Events);
        Assert.Equal([N(EventType.NodeChildrenChanged, "/w")], _writer.Events);
    }

    [Fact]
    public void RemoveWatchesAnyRemovesBothKindsOfAPersistentWatch()
    {
        Ok(_watcher, OpCode.AddWatch, Req.AddWatch("/p", AddWatchMode.Persistent));
        Assert.Equal(ErrorCode.Ok, _h.Call(_watcher, OpCode.CheckWatches, Req.Watches("/p", WatcherType.Children)).Err);
        Assert.Equal(ErrorCode.Ok, _h.Call(_watcher, OpCode.RemoveWatches, Req.Watches("/p", WatcherType.Any)).Err);
        _h.MustCreate(_writer, "/p");
        Assert.Empty(_watcher.Events);
    }

    [Fact]
    public void AnUnknownWatcherTypeIsAMarshallingErrorAsInZooKeeper()
    {
        Assert.Equal(ErrorCode.MarshallingError, _h.Call(_watcher, OpCode.CheckWatches, new PathIntRequest("/w", 4)).Err);
        Assert.Equal(ErrorCode.MarshallingError, _h.Call(_watcher, OpCode.RemoveWatches, new PathIntRequest("/w", 0)).Err);
    }
}
