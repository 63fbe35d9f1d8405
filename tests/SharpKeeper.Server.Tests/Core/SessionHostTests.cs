using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>The session host on its own: ownership, revalidation, activity reports and each session's order of answers.</summary>
public sealed class SessionHostTests
{
    private static ClientRequest Request(OpCode type, int xid) => new() { Connection = null, Type = type, Xid = xid };

    [Fact]
    public void AReadWaitsBehindTheSessionsWriteUntilItIsApplied()
    {
        var state = new SessionHost().Open(1, new FakeConnection());
        Assert.True(state.IsIdle);
        state.WriteQueued(0x10);
        var read = Request(OpCode.GetData, 2);
        state.ReadQueued(read);
        Assert.Null(state.TakeReadyRead());
        state.WriteApplied(0x11);
        Assert.Null(state.TakeReadyRead());
        state.WriteApplied(0x10);
        Assert.Same(read, state.TakeReadyRead());
        Assert.True(state.IsIdle);
    }

    [Fact]
    public void AForwardedRequestIsAnsweredOnlyAtTheHeadWithItsCxidAndASyncOnlyByTheLeadersSyncAnswer()
    {
        var state = new SessionHost().Open(1, new FakeConnection());
        var sync = Request(OpCode.Sync, 1);
        var create = Request(OpCode.Create, 2);
        state.Forwarded(sync);
        state.Forwarded(create);
        state.ReadQueued(Request(OpCode.GetData, 3));
        Assert.Equal(3, state.Unanswerable);
        Assert.Null(state.TakeForwarded(1));
        Assert.False(state.TakeSync(create));
        Assert.True(state.TakeSync(sync));
        Assert.Null(state.TakeForwarded(9));
        Assert.Same(create, state.TakeForwarded(2));
        Assert.NotNull(state.TakeReadyRead());
    }

    [Fact]
    public void ASessionMovesToANewConnectionAndTheOldOneIsHandedBackToClose()
    {
        var host = new SessionHost();
        var first = new FakeConnection();
        var second = new FakeConnection();
        var state = host.Open(7, first);
        state.WriteQueued(0x20);
        Assert.Null(host.Reattach(7, first));
        Assert.Same(first, host.Reattach(7, second));
        Assert.Equal(7, second.SessionId);
        Assert.True(state.IsIdle);
        Assert.Null(host.Owned(first, 7));
        Assert.Same(state, host.Owned(second, 7));
    }

    [Fact]
    public void ALaterRevalidationReplacesTheEarlierWaiter()
    {
        var host = new SessionHost();
        var first = new FakeConnection();
        var second = new FakeConnection();
        Assert.Null(host.AwaitRevalidation(5, first, 4000));
        Assert.Same(first, host.AwaitRevalidation(5, second, 6000));
        Assert.True(host.TakeRevalidation(5, out var waiting));
        Assert.Equal((second, 6000), (waiting.Connection, waiting.Timeout));
        Assert.False(host.TakeRevalidation(5, out _));
    }

    [Fact]
    public void TheActivityReportHasTouchedSessionsAndThoseWithALiveConnectionOnce()
    {
        var host = new SessionHost();
        var live = new FakeConnection { SessionId = 1 };
        host.Accept(live);
        host.Open(1, live);
        host.Open(2, null);
        host.Touch(1);
        host.Touch(3);
        Assert.Equal([1L, 3L], host.TakeActive().Order());
        Assert.Equal([1L], host.TakeActive());
        Assert.Same(host.Get(1), host.Disconnected(live));
        Assert.Null(host.Get(1)!.Owner);
        Assert.Empty(host.TakeActive());
        Assert.Empty(host.Connections);
    }
}
