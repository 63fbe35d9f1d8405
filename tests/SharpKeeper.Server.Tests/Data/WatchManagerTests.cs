using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Tests.Data;

public sealed class WatchManagerTests
{
    private readonly WatchManager _m = new();
    private readonly RecordingWatcher _a = new();
    private readonly RecordingWatcher _b = new();

    [Fact]
    public void AStandardWatchFiresOnceForEachWatcher()
    {
        _m.Add("/x", _a);
        _m.Add("/x", _a);
        _m.Add("/x", _b);
        Assert.Equal(2, _m.WatchCount);
        Assert.Equal(1, _m.PathCount);
        IReadOnlyList<Acl> acl = Acl.OpenAclUnsafe;
        var fired = _m.Trigger("/x", EventType.NodeDataChanged, acl);
        Assert.Equal(2, fired!.Count);
        Assert.Equal([(EventType.NodeDataChanged, "/x", true)], _a.Events);
        Assert.Equal([(EventType.NodeDataChanged, "/x", true)], _b.Events);
        Assert.Null(_m.Trigger("/x", EventType.NodeDataChanged, acl));
        Assert.Equal(0, _m.WatchCount);
        Assert.Equal(0, _m.PathCount);
        Assert.Empty(_m.PathsOf(_a));
    }

    [Fact]
    public void AnEventOnAnotherPathFiresNothing()
    {
        _m.Add("/x", _a);
        Assert.Null(_m.Trigger("/x/y", EventType.NodeCreated, null));
        Assert.Null(_m.Trigger("/", EventType.NodeChildrenChanged, null));
        Assert.True(_m.Contains("/x", _a));
    }

    [Fact]
    public void APersistentWatchStays()
    {
        _m.Add("/p", _a, WatchMode.Persistent);
        _m.Trigger("/p", EventType.NodeDataChanged, null);
        _m.Trigger("/p", EventType.NodeChildrenChanged, null);
        _m.Trigger("/p", EventType.NodeDeleted, null);
        _m.Trigger("/p/c", EventType.NodeCreated, null);
        Assert.Equal(
            [(EventType.NodeDataChanged, "/p", false), (EventType.NodeChildrenChanged, "/p", false), (EventType.NodeDeleted, "/p", false)],
            _a.Events);
        Assert.True(_m.Contains("/p", _a, WatchMode.Persistent));
    }

    [Fact]
    public void ARecursiveWatchSeesDescendantsButNoChildrenChanged()
    {
        _m.Add("/r", _a, WatchMode.PersistentRecursive);
        _m.Trigger("/r", EventType.NodeChildrenChanged, null);
        _m.Trigger("/r/a", EventType.NodeChildrenChanged, null);
        _m.Trigger("/r/a/b", EventType.NodeCreated, null);
        _m.Trigger("/r/a/b", EventType.NodeDataChanged, null);
        _m.Trigger("/r", EventType.NodeDataChanged, null);
        _m.Trigger("/rr", EventType.NodeCreated, null);
        _m.Trigger("/", EventType.NodeDataChanged, null);
        Assert.Equal(
            [(EventType.NodeCreated, "/r/a/b", false), (EventType.NodeDataChanged, "/r/a/b", false), (EventType.NodeDataChanged, "/r", false)],
            _a.Events);
    }

    [Fact]
    public void AWatcherWithSeveralMatchingWatchesIsNotifiedOnce()
    {
        _m.Add("/r", _a, WatchMode.PersistentRecursive);
        _m.Add("/r/a", _a);
        _m.Add("/", _a, WatchMode.PersistentRecursive);
        var fired = _m.Trigger("/r/a", EventType.NodeDataChanged, null);
        Assert.Single(fired!);
        Assert.Single(_a.Events);

        // The one-shot went, the recursive ones stayed.
        Assert.False(_m.Contains("/r/a", _a));
        _m.Trigger("/r/a", EventType.NodeDataChanged, null);
        Assert.Equal(2, _a.Events.Count);
    }

    [Fact]
    public void SuppressedWatchersAreNotNotifiedButStillConsumed()
    {
        _m.Add("/x", _a);
        _m.Add("/x", _b);
        var fired = _m.Trigger("/x", EventType.NodeDeleted, null, suppress: new HashSet<IWatcher>([_a], ReferenceEqualityComparer.Instance));
        Assert.Equal(2, fired!.Count);
        Assert.Empty(_a.Events);
        Assert.Single(_b.Events);
        Assert.Equal(0, _m.WatchCount);
    }

    [Fact]
    public void AOneShotWatchDoesNotDowngradeAPersistentOne()
    {
        _m.Add("/p", _a, WatchMode.Persistent);
        _m.Add("/p", _a);
        _m.Trigger("/p", EventType.NodeDataChanged, null);
        _m.Trigger("/p", EventType.NodeDataChanged, null);
        Assert.Equal(2, _a.Events.Count);
    }

    [Fact]
    public void UpgradingAndRemovingKeepTheRecursiveCountRight()
    {
        _m.Add("/r", _a, WatchMode.Persistent);
        _m.Add("/r", _a, WatchMode.PersistentRecursive);
        _m.Trigger("/r/x", EventType.NodeCreated, null);
        Assert.Single(_a.Events);
        Assert.True(_m.Remove("/r", _a));
        Assert.False(_m.Remove("/r", _a));
        _m.Trigger("/r/x", EventType.NodeCreated, null);
        Assert.Single(_a.Events);
        Assert.Equal(0, _m.WatchCount);
    }

    [Fact]
    public void RemovingAWatcherDropsAllItsWatchesOnly()
    {
        _m.Add("/x", _a);
        _m.Add("/y", _a, WatchMode.PersistentRecursive);
        _m.Add("/x", _b);
        _m.RemoveWatcher(_a);
        Assert.Empty(_m.PathsOf(_a));
        Assert.Equal(1, _m.WatchCount);
        _m.Trigger("/y/z", EventType.NodeCreated, null);
        _m.Trigger("/x", EventType.NodeCreated, null);
        Assert.Empty(_a.Events);
        Assert.Single(_b.Events);
        _m.RemoveWatcher(_a);
    }

    [Fact]
    public void ReportsByPathAndByWatcher()
    {
        _m.Add("/x", _a);
        _m.Add("/y", _a);
        _m.Add("/x", _b);
        Assert.Equal(["/x", "/y"], _m.PathsOf(_a).Order(StringComparer.Ordinal));
        Assert.Equal(2, _m.ByPath().Single(p => p.Path == "/x").Watchers.Count());
        Assert.Equal(2, _m.ByWatcher().Count());
    }
}
