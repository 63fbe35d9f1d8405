using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Tests.Core;

public sealed class ContainerAndTtlTests
{
    private const int Interval = 10000;
    private readonly CoreHarness _h = new(CoreHarness.DefaultOptions with { ContainerCheckIntervalMs = Interval, MaxSessionTimeoutMs = 1_000_000 });
    private readonly FakeConnection _c;

    public ContainerAndTtlTests()
    {
        _c = _h.Connect(timeout: 1_000_000);
    }

    private void CreateContainer(string path) =>
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.CreateContainer, Req.Create(path, mode: CreateMode.Container)).Err);

    private void CreateTtl(string path, long ttl, CreateMode mode = CreateMode.PersistentWithTtl) =>
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.CreateTtl, Req.Create(path, mode: mode, ttl: ttl)).Err);

    [Fact]
    public void AContainerIsDeletedByTheNextCheckAfterItsLastChildGoes()
    {
        CreateContainer("/c");
        _h.MustCreate(_c, "/c/kid");
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.Exists, Req.Watch("/c", true)).Err);
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.Delete, Req.Delete("/c/kid")).Err);
        var entries = _h.Log.Entries.Count;

        // Not before the check interval has passed.
        _h.AdvanceAndTick(Interval - 1);
        Assert.NotNull(_h.Core.Tree.GetNode("/c"));
        Assert.Equal(entries, _h.Log.Entries.Count);

        _h.Clock.Advance(1);
        _h.Tick();
        var (header, txn) = _h.Log.Entries[^1];
        Assert.Equal(new TxnHeader(0, 0, 5, _h.Clock.WallMillis, OpCode.DeleteContainer), header);
        Assert.Equal(new DeleteTxn("/c"), txn);
        Assert.NotNull(_h.Core.Tree.GetNode("/c"));

        _h.Sync();
        Assert.Null(_h.Core.Tree.GetNode("/c"));
        Assert.DoesNotContain("/c", _h.Core.Tree.Containers);
        Assert.Equal(new Notification(EventType.NodeDeleted, "/c"), _c.Events.Last());
        Assert.DoesNotContain(_c.Replies, r => r.Zxid == 5);
    }

    [Fact]
    public void ContainersThatNeverHadChildrenOrStillHaveThemStay()
    {
        CreateContainer("/never");
        CreateContainer("/busy");
        _h.MustCreate(_c, "/busy/kid");
        _h.MustCreate(_c, "/plain");
        _h.AdvanceAndTick(Interval);
        _h.AdvanceAndTick(Interval);
        Assert.NotNull(_h.Core.Tree.GetNode("/never"));
        Assert.NotNull(_h.Core.Tree.GetNode("/busy"));
        Assert.Equal(5, _h.Log.Entries.Count);
    }

    [Fact]
    public void AContainerThatNeverHadAChildGoesOnceOlderThanMaxNeverUsed()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with
        {
            ContainerCheckIntervalMs = Interval,
            ContainerMaxNeverUsedIntervalMs = 3 * Interval,
            MaxSessionTimeoutMs = 1_000_000,
        });
        var c = h.Connect(timeout: 1_000_000);
        Assert.Equal(ErrorCode.Ok, h.Call(c, OpCode.CreateContainer, Req.Create("/never", mode: CreateMode.Container)).Err);
        Assert.Equal(ErrorCode.Ok, h.Call(c, OpCode.CreateContainer, Req.Create("/busy", mode: CreateMode.Container)).Err);
        h.MustCreate(c, "/busy/kid");

        // Kept while younger than the interval.
        h.AdvanceAndTick(Interval);
        h.AdvanceAndTick(Interval);
        h.Sync();
        Assert.NotNull(h.Core.Tree.GetNode("/never"));

        h.AdvanceAndTick(Interval + 1);
        h.AdvanceAndTick(Interval);
        h.Sync();
        Assert.Null(h.Core.Tree.GetNode("/never"));
        Assert.NotNull(h.Core.Tree.GetNode("/busy"));
    }

    [Fact]
    public void AChildCreatedWhileTheDeletionIsPendingWins()
    {
        CreateContainer("/c");
        _h.MustCreate(_c, "/c/a");
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.Delete, Req.Delete("/c/a")).Err);
        _h.Clock.Advance(Interval);

        // The client's create is prepared first; the container check then sees a pending child.
        var xid = _h.Send(_c, OpCode.Create2, Req.Create("/c/b"));
        _h.Tick();
        _h.Sync();
        Assert.Equal(ErrorCode.Ok, _c.ReplyTo(xid).Err);
        Assert.NotNull(_h.Core.Tree.GetNode("/c/b"));
        var (header, txn) = _h.Log.Entries[^1];
        Assert.Equal(OpCode.Error, header.Type);
        Assert.Equal(new ErrorTxn(ErrorCode.NotEmpty), txn);
    }

    [Fact]
    public void ATtlNodeIsDeletedOnceIdleLongerThanItsTtl()
    {
        CreateTtl("/t", 25000);
        _h.AdvanceAndTick(Interval);
        _h.AdvanceAndTick(Interval);
        Assert.NotNull(_h.Core.Tree.GetNode("/t"));

        // A change restarts the clock.
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.SetData, Req.SetData("/t", "touch")).Err);
        _h.AdvanceAndTick(Interval);
        _h.AdvanceAndTick(Interval);
        Assert.NotNull(_h.Core.Tree.GetNode("/t"));
        _h.AdvanceAndTick(Interval);
        Assert.Null(_h.Core.Tree.GetNode("/t"));
        Assert.Equal(OpCode.DeleteContainer, _h.Log.Entries[^1].Header.Type);
        Assert.DoesNotContain("/t", _h.Core.Tree.Ttls);
    }

    [Fact]
    public void ATtlNodeWithChildrenIsKept()
    {
        CreateTtl("/t", 1000);
        _h.MustCreate(_c, "/t/kid");
        _h.AdvanceAndTick(Interval);
        Assert.NotNull(_h.Core.Tree.GetNode("/t"));
        Assert.Equal(ErrorCode.Ok, _h.Call(_c, OpCode.Delete, Req.Delete("/t/kid")).Err);

        // Deleting the child does not change the node's mtime: it is already idle long enough.
        _h.AdvanceAndTick(Interval);
        Assert.Null(_h.Core.Tree.GetNode("/t"));
    }

    [Fact]
    public void SequentialTtlNodesExpireToo()
    {
        CreateTtl("/q-", 500, CreateMode.PersistentSequentialWithTtl);
        Assert.Contains("/q-0000000000", _h.Core.Tree.Ttls);
        _h.AdvanceAndTick(Interval);
        Assert.Null(_h.Core.Tree.GetNode("/q-0000000000"));
    }
}
