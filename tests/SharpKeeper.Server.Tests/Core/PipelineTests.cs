using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

public sealed class PipelineTests
{
    private readonly CoreHarness _h = new();

    [Fact]
    public void NoWriteIsAnsweredOrAppliedBeforeItsTxnIsDurable()
    {
        var c = _h.Connect();
        var flushes = _h.Log.Flushes;
        var xid = _h.Send(c, OpCode.Create2, Req.Create("/a"));
        Assert.Empty(c.Replies);
        Assert.Equal(flushes + 1, _h.Log.Flushes);
        Assert.Equal(2, _h.Log.LastFlushed);
        Assert.Null(_h.Core.Tree.GetNode("/a"));
        Assert.Equal(1, _h.Core.OutstandingTxns);

        // A sync of older txns changes nothing.
        _h.SyncUpTo(1);
        Assert.Empty(c.Replies);

        _h.Sync();
        var reply = Assert.Single(c.Replies);
        Assert.Equal(new ReplyHeader(xid, 2, ErrorCode.Ok), reply.Header);
        Assert.NotNull(_h.Core.Tree.GetNode("/a"));
        Assert.Equal(0, _h.Core.OutstandingTxns);
    }

    [Fact]
    public void ABatchOfWritesIsFlushedOnce()
    {
        var c = _h.Connect();
        var flushes = _h.Log.Flushes;
        _h.Core.Handle(new RequestMessage(new ClientRequest { Connection = c, Xid = 1, Type = OpCode.Create, Body = Req.Create("/a") }));
        _h.Core.Handle(new RequestMessage(new ClientRequest { Connection = c, Xid = 2, Type = OpCode.Create, Body = Req.Create("/b") }));
        Assert.Equal(flushes, _h.Log.Flushes);
        _h.Core.EndBatch();
        Assert.Equal(flushes + 1, _h.Log.Flushes);
        Assert.Equal(3, _h.Log.LastFlushed);

        // A batch of reads only does not ask the log for anything.
        _h.Sync();
        _h.Send(c, OpCode.Exists, Req.Watch("/a"));
        Assert.Equal(flushes + 1, _h.Log.Flushes);
    }

    [Fact]
    public void ReadsWaitForTheSessionsEarlierWritesAndSeeExactlyThose()
    {
        var c = _h.Connect();
        var other = _h.Connect();
        var w1 = _h.Send(c, OpCode.Create2, Req.Create("/x", "1"));
        var r1 = _h.Send(c, OpCode.GetData, Req.Watch("/x"));
        var w2 = _h.Send(c, OpCode.SetData, Req.SetData("/x", "2"));
        var r2 = _h.Send(c, OpCode.GetData, Req.Watch("/x"));
        var ping = _h.Send(c, OpCode.Ping, xid: Xids.Ping);

        // Another session's read is answered at once from the applied state.
        var seen = _h.Send(other, OpCode.Exists, Req.Watch("/x"));
        Assert.Equal(ErrorCode.NoNode, other.ReplyTo(seen).Err);
        Assert.Empty(c.Replies);

        _h.Sync();
        Assert.Equal([w1, r1, w2, r2, ping], c.Replies.Select(r => r.Xid));
        Assert.Equal([3L, 3L, 4L, 4L, 4L], c.Replies.Select(r => r.Zxid));
        Assert.Equal("1", Req.Text(c.ReplyTo(r1).Body));
        Assert.Equal("2", Req.Text(c.ReplyTo(r2).Body));
    }

    [Fact]
    public void APartialSyncAnswersUpToTheFirstUnsyncedWrite()
    {
        var c = _h.Connect();
        var w1 = _h.Send(c, OpCode.Create2, Req.Create("/a"));
        var r1 = _h.Send(c, OpCode.Exists, Req.Watch("/b"));
        var w2 = _h.Send(c, OpCode.Create2, Req.Create("/b"));
        var r2 = _h.Send(c, OpCode.Exists, Req.Watch("/b"));

        _h.SyncUpTo(2);
        Assert.Equal([w1, r1], c.Replies.Select(r => r.Xid));
        Assert.Equal(ErrorCode.NoNode, c.ReplyTo(r1).Err);

        _h.SyncUpTo(3);
        Assert.Equal([w1, r1, w2, r2], c.Replies.Select(r => r.Xid));
        Assert.Equal(ErrorCode.Ok, c.ReplyTo(r2).Err);
    }

    [Fact]
    public void PipelinedWritesAreValidatedAgainstTheWritesBeforeThem()
    {
        var c = _h.Connect();
        _h.Send(c, OpCode.Create2, Req.Create("/p"));
        _h.Send(c, OpCode.Create2, Req.Create("/p/kid"));
        _h.Send(c, OpCode.Create2, Req.Create("/p/seq-", mode: CreateMode.PersistentSequential));
        _h.Send(c, OpCode.Delete, Req.Delete("/p"));
        _h.Send(c, OpCode.SetData, Req.SetData("/p/kid", "v", version: 0));
        _h.Send(c, OpCode.SetData, Req.SetData("/p/kid", "w", version: 0));
        _h.Send(c, OpCode.Delete, Req.Delete("/p/kid", version: 1));
        _h.Send(c, OpCode.Create2, Req.Create("/p/kid/under"));
        Assert.Empty(c.Replies);
        _h.Sync();
        Assert.Equal(
            [ErrorCode.Ok, ErrorCode.Ok, ErrorCode.Ok, ErrorCode.NotEmpty, ErrorCode.Ok, ErrorCode.BadVersion, ErrorCode.Ok, ErrorCode.NoNode],
            c.Replies.Select(r => r.Err));
        Assert.Equal([2L, 3, 4, 5, 6, 7, 8, 9], c.Replies.Select(r => r.Zxid));
        Assert.Equal("/p/seq-0000000001", ((CreateResponse)c.Replies.ElementAt(2).Body!).Path);
        Assert.Equal(["seq-0000000001"], _h.Core.Tree.GetNode("/p")!.ChildNames);
    }

    [Fact]
    public void TwoSessionsPipelineAgainstEachOthersPendingChanges()
    {
        var a = _h.Connect();
        var b = _h.Connect();
        _h.Send(a, OpCode.Create2, Req.Create("/lock"));
        var lost = _h.Send(b, OpCode.Create2, Req.Create("/lock"));
        _h.Sync();
        Assert.Equal(ErrorCode.NodeExists, b.ReplyTo(lost).Err);
        Assert.Equal(new Stat(3, 3, ManualClock.StartWall, ManualClock.StartWall, 0, 0, 0, 0, 0, 0, 3), _h.StatOf("/lock"));
    }

    [Fact]
    public void RepliesOfAClosedConnectionAreDroppedButTheWriteStillHappens()
    {
        var c = _h.Connect();
        _h.Send(c, OpCode.Create2, Req.Create("/a"));
        _h.Core.Handle(new ConnectionClosedMessage(c));
        _h.Sync();
        Assert.Empty(c.Replies);
        Assert.Equal(0, c.SendsAfterClose);
        Assert.NotNull(_h.Core.Tree.GetNode("/a"));
        Assert.DoesNotContain(c, _h.Core.Connections);
    }
}

/// <summary>globalOutstandingLimit: the count of unanswered requests behind it, and the gate connections wait on.</summary>
public sealed class OutstandingLimitTests
{
    [Fact]
    public void TheGateClosesAtTheLimitAndOpensBelowIt()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { GlobalOutstandingLimit = 2 });
        var c = h.Connect();
        h.Send(c, OpCode.Create2, Req.Create("/a"));
        Assert.False(h.Core.Throttle.IsClosed);
        var waiting = h.Core.Throttle.WaitOpenAsync(CancellationToken.None);
        Assert.True(waiting.IsCompleted);

        h.Send(c, OpCode.Create2, Req.Create("/b"));
        Assert.True(h.Core.Throttle.IsClosed);
        waiting = h.Core.Throttle.WaitOpenAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        // The writes become durable and are answered: the gate opens and the waiter goes on.
        h.Sync();
        Assert.Equal(2, c.Replies.Count());
        Assert.False(h.Core.Throttle.IsClosed);
        Assert.True(waiting.IsCompleted);
        Assert.Equal(0, h.Core.Stats.OutstandingRequests);
    }

    [Fact]
    public void ReadsQueuedBehindWritesOfAClosedConnectionLeaveTheCount()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { GlobalOutstandingLimit = 3 });
        var c = h.Connect();
        h.Send(c, OpCode.Create2, Req.Create("/a"));
        h.Send(c, OpCode.GetData, Req.Watch("/a"));
        h.Send(c, OpCode.GetData, Req.Watch("/a"));
        Assert.Equal(3, h.Core.Stats.OutstandingRequests);
        Assert.True(h.Core.Throttle.IsClosed);

        // The client goes away: its two reads will never be answered; its write is, to nobody.
        h.Core.Handle(new ConnectionClosedMessage(c));
        Assert.Equal(1, h.Core.Stats.OutstandingRequests);
        Assert.False(h.Core.Throttle.IsClosed);
        h.Sync();
        Assert.Equal(0, h.Core.Stats.OutstandingRequests);
    }
}
