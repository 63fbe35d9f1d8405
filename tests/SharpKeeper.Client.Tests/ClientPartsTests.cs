using SharpKeeper.Protocol;

namespace SharpKeeper.Client.Tests;

/// <summary>The pieces that need no socket: connect strings, chroot paths, the watch tables.</summary>
public sealed class ClientPartsTests
{
    [Fact]
    public void ConnectStringsNameHostsPortsAndAChroot()
    {
        var parsed = ConnectString.Parse("a:1, b ,[::1]:3000,[fe80::2]/app/x");
        Assert.Equal([("a", 1), ("b", 2181), ("::1", 3000), ("fe80::2", 2181)], parsed.Hosts);
        Assert.Equal("/app/x", parsed.Chroot);
        Assert.Null(ConnectString.Parse("a:1/").Chroot);
        Assert.Equal([("::1", 2181)], ConnectString.Parse("::1").Hosts);
        Assert.Throws<ArgumentException>(() => ConnectString.Parse("a:99999"));
        Assert.Throws<ArgumentException>(() => ConnectString.Parse("a:1/bad//chroot"));
        Assert.Throws<ArgumentException>(() => ConnectString.Parse("/only-chroot"));
    }

    [Theory]
    [InlineData("/app", "/", "/app")]
    [InlineData("/app", "/x/y", "/app/x/y")]
    [InlineData(null, "/x", "/x")]
    public void ChrootPathsGoBothWays(string? chroot, string client, string server)
    {
        Assert.Equal(server, ChrootPath.ToServer(chroot, client));
        Assert.Equal(client, ChrootPath.ToClient(chroot, server));
    }

    [Fact]
    public void PathsOutsideTheChrootAreLeftAlone() => Assert.Equal("/apple", ChrootPath.ToClient("/app", "/apple"));

    [Fact]
    public void RecursiveWatchesMatchTheNodeAndItsDescendantsOnly()
    {
        var watches = new WatchManager();
        Watcher root = _ => { };
        Watcher sub = _ => { };
        watches.Register(WatchKind.PersistentRecursive, "/", root, ErrorCode.Ok);
        watches.Register(WatchKind.PersistentRecursive, "/a", sub, ErrorCode.Ok);
        Assert.Equal([sub, root], watches.Materialize(EventType.NodeDataChanged, "/a/b/c"));
        Assert.Equal([root], watches.Materialize(EventType.NodeCreated, "/ab"));
        Assert.Equal([sub, root], watches.Materialize(EventType.NodeDeleted, "/a"));
        Assert.Equal([root], watches.Materialize(EventType.NodeCreated, "/"));
    }

    [Fact]
    public void RegistrationFollowsTheReplyCode()
    {
        var watches = new WatchManager();
        Watcher w = _ => { };
        watches.Register(WatchKind.Exists, "/e", w, ErrorCode.NoNode);
        watches.Register(WatchKind.Exists, "/d", w, ErrorCode.Ok);
        watches.Register(WatchKind.Exists, "/x", w, ErrorCode.NoAuth);
        watches.Register(WatchKind.Data, "/missing", w, ErrorCode.NoNode);
        watches.Register(WatchKind.Child, "/c", w, ErrorCode.Ok);
        watches.Register(WatchKind.Persistent, "/p", w, ErrorCode.NoNode);
        Assert.Equal((1, 1, 1, 1, 0), watches.Counts());
    }

    [Fact]
    public void SetWatchesIsSplitIntoFramesOfAboutAHundredKilobytesOfPaths()
    {
        var watches = new WatchManager();
        Watcher w = _ => { };
        var paths = Enumerable.Range(0, 3000).Select(i => "/" + i.ToString("D5") + new string('x', 94)).ToList();
        foreach (var path in paths)
        {
            watches.Register(WatchKind.Data, path, w, ErrorCode.Ok);
        }

        watches.Register(WatchKind.PersistentRecursive, "/r", w, ErrorCode.Ok);
        var batches = watches.SetWatchesBatches(42, "/root");
        Assert.Equal(3, batches.Count);
        Assert.All(batches, b => Assert.Equal(42, b.Request.RelativeZxid));
        Assert.All(batches, b => Assert.True(b.Request.DataWatches.Sum(p => p.Length - "/root".Length) < WatchManager.SetWatchesBatchLength + 100));
        Assert.Equal(paths.Select(p => "/root" + p).Order(), batches.SelectMany(b => b.Request.DataWatches).Order());
        Assert.Equal([OpCode.SetWatches, OpCode.SetWatches, OpCode.SetWatches2], batches.Select(b => b.Op));
        Assert.Equal(["/root/r"], batches[2].Request.PersistentRecursiveWatches);
        Assert.Empty(new WatchManager().SetWatchesBatches(1, null));
    }

    [Fact]
    public void RemovalReportsNoWatcherTheServerErrorOrTheRemovedWatchers()
    {
        var watches = new WatchManager();
        Watcher a = _ => { };
        Watcher b = _ => { };
        watches.Register(WatchKind.Data, "/n", a, ErrorCode.Ok);
        watches.Register(WatchKind.Child, "/n", b, ErrorCode.Ok);
        var removed = new List<(EventType Type, List<Watcher> Watchers)>();

        Assert.Equal(ErrorCode.NoWatcher, watches.Remove("/other", null, WatcherType.Any, false, ErrorCode.Ok, removed));
        Assert.Equal(ErrorCode.ConnectionLoss, watches.Remove("/n", a, WatcherType.Data, false, ErrorCode.ConnectionLoss, removed));
        Assert.Equal(ErrorCode.NoWatcher, watches.Remove("/n", a, WatcherType.Children, false, ErrorCode.Ok, removed));
        Assert.Empty(removed);

        Assert.Equal(ErrorCode.Ok, watches.Remove("/n", null, WatcherType.Any, true, ErrorCode.ConnectionLoss, removed));
        Assert.Equal([(EventType.ChildWatchRemoved, b), (EventType.DataWatchRemoved, a)], removed.Select(r => (r.Type, r.Watchers.Single())));
        Assert.Equal((0, 0, 0, 0, 0), watches.Counts());
    }
}
