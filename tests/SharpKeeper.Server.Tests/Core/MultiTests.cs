using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Tests.Core;

public sealed class MultiTests
{
    private const long T0 = ManualClock.StartWall;
    private readonly CoreHarness _h = new();
    private readonly FakeConnection _c;

    public MultiTests()
    {
        _c = _h.Connect();
    }

    private static MultiOp Op(OpCode type, PathRequest request) => new(type, request);

    [Fact]
    public void ASuccessfulMultiAppliesEveryOpUnderOneZxid()
    {
        var reply = _h.Call(_c, OpCode.Multi, ops:
        [
            Op(OpCode.Create, Req.Create("/m", "ab")),
            Op(OpCode.Create, Req.Create("/m/c")),
            Op(OpCode.SetData, Req.SetData("/m", "xyz", version: 0)),
            Op(OpCode.Check, Req.Check("/m", 1)),
            Op(OpCode.Delete, Req.Delete("/m/c", 0)),
            Op(OpCode.Create, Req.Create("/m/s-", mode: CreateMode.PersistentSequential)),
        ]);
        Assert.Equal(new ReplyHeader(reply.Xid, 2, ErrorCode.Ok), reply.Header);
        var results = ((MultiResponse)reply.Body!).Results;
        Assert.Equal([OpCode.Create, OpCode.Create, OpCode.SetData, OpCode.Check, OpCode.Delete, OpCode.Create], results.Select(r => r.Type));
        Assert.All(results, r => Assert.Equal(ErrorCode.Ok, r.Err));
        Assert.Equal(new CreateResponse("/m", null), results[0].Body);
        Assert.Equal(new CreateResponse("/m/s-0000000001", null), results[5].Body);

        // The setData result is the node as that op left it: /m/c still present then.
        Assert.Equal(new StatResponse(new Stat(2, 2, T0, T0, 1, 1, 0, 0, 3, 1, 2)), results[2].Body);
        Assert.Equal(new Stat(2, 2, T0, T0, 1, 3, 0, 0, 3, 1, 2), _h.StatOf("/m"));

        var (header, txn) = Assert.Single(_h.Log.Entries, e => e.Header.Type == OpCode.Multi);
        Assert.Equal((2L, reply.Xid), (header.Zxid, header.Cxid));
        Assert.Equal(
            [OpCode.Create, OpCode.Create, OpCode.SetData, OpCode.Check, OpCode.Delete, OpCode.Create],
            ((MultiTxn)txn).Txns.Select(t => t.Type));
    }

    [Fact]
    public void AFailedMultiAppliesNothingAndReportsEachOp()
    {
        _h.MustCreate(_c, "/keep", "k");
        var reply = _h.Call(_c, OpCode.Multi, ops:
        [
            Op(OpCode.Create, Req.Create("/m1")),
            Op(OpCode.SetData, Req.SetData("/keep", "changed")),
            Op(OpCode.Delete, Req.Delete("/absent")),
            Op(OpCode.Create, Req.Create("/m2")),
        ]);

        // As ZooKeeper: the header says Ok, the zxid is consumed, each result says what happened.
        Assert.Equal(new ReplyHeader(reply.Xid, 3, ErrorCode.Ok), reply.Header);
        var results = ((MultiResponse)reply.Body!).Results;
        Assert.All(results, r => Assert.Equal(OpCode.Error, r.Type));
        Assert.Equal([ErrorCode.Ok, ErrorCode.Ok, ErrorCode.NoNode, ErrorCode.RuntimeInconsistency], results.Select(r => r.Err));
        Assert.Equal(new IntResponse((int)ErrorCode.NoNode), results[2].Body);
        Assert.Null(_h.Core.Tree.GetNode("/m1"));
        Assert.Equal(0, _h.StatOf("/keep").Version);
        Assert.Equal(3, _h.LastZxid);

        var logged = (MultiTxn)_h.Log.Entries[^1].Txn;
        Assert.Equal([OpCode.Create, OpCode.SetData, OpCode.Error, OpCode.Error], logged.Txns.Select(t => t.Type));
        Assert.Equal(new ErrorTxn(ErrorCode.NoNode), logged.Txns[2].Body);
        Assert.Equal(new ErrorTxn(ErrorCode.RuntimeInconsistency), logged.Txns[3].Body);
    }

    [Fact]
    public void AFailedMultiLeavesNoPendingChangesBehindForTheRequestsAfterIt()
    {
        _h.MustCreate(_c, "/s");
        _h.Send(_c, OpCode.Multi, ops:
        [
            Op(OpCode.Create, Req.Create("/m1")),
            Op(OpCode.Create, Req.Create("/s/n-", mode: CreateMode.PersistentSequential)),
            Op(OpCode.SetData, Req.SetData("/s", "x", version: 7)),
        ]);
        var m1 = _h.Send(_c, OpCode.Create2, Req.Create("/m1"));
        var seq = _h.Send(_c, OpCode.Create2, Req.Create("/s/n-", mode: CreateMode.PersistentSequential));
        var set = _h.Send(_c, OpCode.SetData, Req.SetData("/s", "y", version: 0));
        _h.Sync();
        Assert.Equal(ErrorCode.Ok, _c.ReplyTo(m1).Err);
        Assert.Equal(new CreateResponse("/s/n-0000000000", new Stat(5, 5, T0, T0, 0, 0, 0, 0, 0, 0, 5)), _c.ReplyTo(seq).Body);
        Assert.Equal(ErrorCode.Ok, _c.ReplyTo(set).Err);
    }

    [Fact]
    public void ACheckThatFailsAbortsTheMulti()
    {
        _h.MustCreate(_c, "/v");
        var reply = _h.Call(_c, OpCode.Multi, ops:
        [
            Op(OpCode.Check, Req.Check("/v", 1)),
            Op(OpCode.Delete, Req.Delete("/v")),
        ]);
        Assert.Equal([ErrorCode.BadVersion, ErrorCode.RuntimeInconsistency], ((MultiResponse)reply.Body!).Results.Select(r => r.Err));
        Assert.NotNull(_h.Core.Tree.GetNode("/v"));
    }

    [Fact]
    public void AMultiSeesItsOwnEarlierOps()
    {
        var reply = _h.Call(_c, OpCode.Multi, ops:
        [
            Op(OpCode.Create, Req.Create("/a")),
            Op(OpCode.Delete, Req.Delete("/a", 0)),
            Op(OpCode.Create, Req.Create("/a", "again")),
            Op(OpCode.Create, Req.Create("/a", "twice")),
        ]);
        Assert.Equal([ErrorCode.Ok, ErrorCode.Ok, ErrorCode.Ok, ErrorCode.NodeExists], ((MultiResponse)reply.Body!).Results.Select(r => r.Err));
        Assert.Null(_h.Core.Tree.GetNode("/a"));
    }

    [Fact]
    public void AnEmptyMultiSucceedsAndStillTakesAZxid()
    {
        var reply = _h.Call(_c, OpCode.Multi, ops: []);
        Assert.Equal(new ReplyHeader(reply.Xid, 2, ErrorCode.Ok), reply.Header);
        Assert.Empty(((MultiResponse)reply.Body!).Results);
    }

    [Fact]
    public void MultiReadAnswersEachOpAndLogsNothing()
    {
        var other = _h.Connect();
        _h.MustCreate(_c, "/a", "data");
        _h.MustCreate(_c, "/a/k1");
        _h.MustCreate(_c, "/secret", acl: [Req.DigestAcl("u:p")]);
        var entries = _h.Log.Entries.Count;

        var reply = _h.Call(other, OpCode.MultiRead, ops:
        [
            Op(OpCode.GetData, Req.Watch("/a")),
            Op(OpCode.GetChildren, Req.Watch("/a")),
            Op(OpCode.GetData, Req.Watch("/missing")),
            Op(OpCode.GetChildren, Req.Watch("/secret")),
            Op(OpCode.GetData, Req.Watch("/a/k1")),
        ]);
        Assert.Equal(new ReplyHeader(reply.Xid, 5, ErrorCode.Ok), reply.Header);
        var results = ((MultiResponse)reply.Body!).Results;
        Assert.Equal([OpCode.GetData, OpCode.GetChildren, OpCode.Error, OpCode.Error, OpCode.GetData], results.Select(r => r.Type));
        Assert.Equal([ErrorCode.Ok, ErrorCode.Ok, ErrorCode.NoNode, ErrorCode.NoAuth, ErrorCode.Ok], results.Select(r => r.Err));
        var data = (GetDataResponse)results[0].Body;
        Assert.Equal("data", Req.Text(data));
        Assert.Equal(new Stat(3, 3, T0, T0, 0, 1, 0, 0, 4, 1, 4), data.Stat);
        Assert.Equal(["k1"], ((GetChildrenResponse)results[1].Body).Children);
        Assert.Null(((GetChildrenResponse)results[1].Body).Stat);
        Assert.Equal(entries, _h.Log.Entries.Count);
    }

    [Fact]
    public void MultiReadNeverLeavesWatchesBehind()
    {
        _h.MustCreate(_c, "/a");

        // ZooKeeper decodes multiRead ops without their watch flag.
        _h.Call(_c, OpCode.MultiRead, ops: [Op(OpCode.GetData, Req.Watch("/a", true)), Op(OpCode.GetChildren, Req.Watch("/a", true))]);
        Assert.Equal(0, _h.Core.Tree.DataWatches.WatchCount);
        Assert.Equal(0, _h.Core.Tree.ChildWatches.WatchCount);
    }

    [Fact]
    public void AMultiOfAnotherSessionIsNotBlockedByThisSessionsReads()
    {
        var other = _h.Connect();
        _h.Send(_c, OpCode.Multi, ops: [Op(OpCode.Create, Req.Create("/x"))]);
        var read = _h.Send(_c, OpCode.Exists, Req.Watch("/x"));
        var otherRead = _h.Send(other, OpCode.Exists, Req.Watch("/x"));
        Assert.Equal(ErrorCode.NoNode, other.ReplyTo(otherRead).Err);
        Assert.False(_c.HasReplyTo(read));
        _h.Sync();
        Assert.Equal(ErrorCode.Ok, _c.ReplyTo(read).Err);
    }
}
