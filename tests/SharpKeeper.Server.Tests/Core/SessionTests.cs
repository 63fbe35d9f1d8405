using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Tests.Core;

public sealed class SessionTests
{
    private readonly CoreHarness _h = new();

    private static long FirstSessionId(long serverId = 1)
    {
        var wall = ManualClock.StartWall;
        return (long)((ulong)(wall << 24) >> 8) | (serverId << 56);
    }

    [Fact]
    public void HandshakeIsAnsweredOnlyOnceTheCreateSessionTxnIsDurable()
    {
        Assert.Equal(1, _h.Log.Subscribers);
        var c = _h.BeginConnect(timeout: 30000);

        // Logged and flushed, but not acknowledged.
        Assert.Empty(c.Log);
        var (header, txn) = Assert.Single(_h.Log.Entries);
        Assert.Equal(new TxnHeader(FirstSessionId(), 0, 1, ManualClock.StartWall, OpCode.CreateSession), header);
        Assert.Equal(new CreateSessionTxn(30000), txn);
        Assert.Equal(1, _h.Log.LastFlushed);
        Assert.Equal(0, _h.LastZxid);

        _h.Sync();
        var handshake = Assert.IsType<Handshake>(Assert.Single(c.Log)).Response;
        Assert.Equal((0, 30000, FirstSessionId(), false), (handshake.ProtocolVersion, handshake.Timeout, handshake.SessionId, handshake.ReadOnly));
        Assert.Equal(SessionPassword.For(FirstSessionId()), handshake.Password);
        Assert.Equal(FirstSessionId(), c.SessionId);
        Assert.Equal(1, _h.LastZxid);
        Assert.False(c.IsClosed);
        Assert.True(c.Flushes > 0);
    }

    [Fact]
    public void ASyncCoveringOnlyTheFirstSessionAnswersOnlyTheFirstHandshake()
    {
        var first = _h.BeginConnect();
        var second = _h.BeginConnect();
        _h.SyncUpTo(1);
        Assert.Equal(FirstSessionId(), first.Handshake!.SessionId);
        Assert.Null(second.Handshake);
        _h.SyncUpTo(2);
        Assert.Equal(FirstSessionId() + 1, second.Handshake!.SessionId);
    }

    [Theory]
    [InlineData(-5, 4000)]
    [InlineData(0, 4000)]
    [InlineData(3999, 4000)]
    [InlineData(4000, 4000)]
    [InlineData(25000, 25000)]
    [InlineData(40000, 40000)]
    [InlineData(40001, 40000)]
    [InlineData(int.MaxValue, 40000)]
    public void TimeoutIsClampedBetweenTwiceAndTwentyTimesTheTick(int asked, int granted)
    {
        var c = _h.Connect(asked);
        Assert.Equal(granted, c.Handshake!.Timeout);
        Assert.Equal(new CreateSessionTxn(granted), _h.Log.Entries[0].Txn);
        Assert.Equal(granted, _h.Core.Sessions.Get(c.SessionId)!.TimeoutMs);
    }

    [Fact]
    public void ClientThatHasSeenMoreThanTheServerIsClosedWithoutAnswerOrTxn()
    {
        _h.Connect();
        var ahead = _h.Connect(lastZxid: 2);
        Assert.Equal([typeof(Closed)], ahead.Log.Select(s => s.GetType()));
        Assert.Single(_h.Log.Entries);
        Assert.Equal(1, _h.Core.Sessions.Count);

        // Having seen exactly what the server has is fine.
        var same = _h.Connect(lastZxid: 1);
        Assert.NotNull(same.Handshake);
        Assert.False(same.IsClosed);
    }

    [Fact]
    public void ReconnectKeepsTheSessionClosesTheOldConnectionAndNeedsNoTxn()
    {
        var first = _h.Connect();
        var id = first.SessionId;
        _h.MustCreate(first, "/mine", mode: CreateMode.Ephemeral);
        Assert.Equal(ErrorCode.Ok, _h.Call(first, OpCode.GetData, Req.Watch("/mine", true)).Err);
        var entries = _h.Log.Entries.Count;

        var second = _h.BeginConnect(timeout: 10000, sessionId: id, password: first.Handshake!.Password);

        // Answered at once: re-attaching a live session changes no state.
        var handshake = second.Handshake!;
        Assert.Equal((id, 10000), (handshake.SessionId, handshake.Timeout));
        Assert.Equal(SessionPassword.For(id), handshake.Password);
        Assert.Equal(entries, _h.Log.Entries.Count);
        Assert.True(first.IsClosed);
        Assert.IsType<Closed>(first.Log[^1]);
        Assert.Equal(id, second.SessionId);

        // The old connection's watches went with it; its late requests are ignored.
        Assert.Equal(0, _h.Core.Tree.DataWatches.WatchCount);
        _h.Send(first, OpCode.Exists, Req.Watch("/mine"));
        Assert.Equal(0, first.SendsAfterClose);

        var exists = _h.Call(second, OpCode.Exists, Req.Watch("/mine"));
        Assert.Equal(ErrorCode.Ok, exists.Err);
        Assert.Equal(id, ((StatResponse)exists.Body!).Stat.EphemeralOwner);
    }

    [Fact]
    public void WrongPasswordIsRefusedWithTimeoutZeroAndClosed()
    {
        var owner = _h.Connect();
        var password = (byte[])owner.Handshake!.Password.Clone();
        password[0] ^= 1;
        var intruder = _h.BeginConnect(sessionId: owner.SessionId, password: password);

        Assert.Equal(2, intruder.Log.Count);
        var refused = Assert.IsType<Handshake>(intruder.Log[0]).Response;
        Assert.Equal((0, 0, 0L, false), (refused.ProtocolVersion, refused.Timeout, refused.SessionId, refused.ReadOnly));
        Assert.Equal(new byte[16], refused.Password);
        Assert.IsType<Closed>(intruder.Log[1]);
        Assert.Single(_h.Log.Entries);

        // The session itself is untouched.
        Assert.NotNull(_h.Core.Sessions.Get(owner.SessionId));
        Assert.Equal(ErrorCode.Ok, _h.Call(owner, OpCode.Ping, xid: Xids.Ping).Err);
    }

    [Fact]
    public void UnknownSessionIsRefusedLikeAnExpiredOne()
    {
        var c = _h.BeginConnect(sessionId: 0x1234, password: SessionPassword.For(0x1234));
        var refused = Assert.IsType<Handshake>(c.Log[0]).Response;
        Assert.Equal((0, 0L), (refused.Timeout, refused.SessionId));
        Assert.True(c.IsClosed);
        Assert.Empty(_h.Log.Entries);
    }

    [Fact]
    public void SessionIdsCountUpFromTheServerIdAndTime()
    {
        var h = new CoreHarness(CoreHarness.DefaultOptions with { ServerId = 3 });
        Assert.Equal(FirstSessionId(3), h.Connect().SessionId);
        Assert.Equal(FirstSessionId(3) + 1, h.Connect().SessionId);
    }

    [Fact]
    public void CloseSessionRepliesThenClosesAndDeletesOnlyThatSessionsEphemerals()
    {
        var owner = _h.Connect();
        var other = _h.Connect();
        _h.MustCreate(owner, "/p");
        _h.MustCreate(owner, "/p/e2", mode: CreateMode.Ephemeral);
        _h.MustCreate(owner, "/e1", mode: CreateMode.Ephemeral);
        _h.MustCreate(other, "/theirs", mode: CreateMode.Ephemeral);
        Assert.Equal(ErrorCode.Ok, _h.Call(other, OpCode.Exists, Req.Watch("/e1", true)).Err);
        Assert.Equal(ErrorCode.Ok, _h.Call(other, OpCode.GetChildren, Req.Watch("/p", true)).Err);
        Assert.Equal(6, _h.LastZxid);

        var xid = _h.Send(owner, OpCode.CloseSession);
        Assert.False(owner.HasReplyTo(xid));
        var (header, txn) = _h.Log.Entries[^1];
        Assert.Equal((owner.SessionId, xid, 7L, OpCode.CloseSession), (header.ClientId, header.Cxid, header.Zxid, header.Type));
        Assert.Equal(["/e1", "/p/e2"], ((CloseSessionTxn)txn).PathsToDelete);

        _h.Sync();
        var reply = owner.ReplyTo(xid);
        Assert.Equal((7L, ErrorCode.Ok), (reply.Zxid, reply.Err));
        Assert.Null(reply.Body);
        Assert.IsType<Closed>(owner.Log[^1]);
        Assert.Null(_h.Core.Tree.GetNode("/e1"));
        Assert.Null(_h.Core.Tree.GetNode("/p/e2"));
        Assert.NotNull(_h.Core.Tree.GetNode("/p"));
        Assert.NotNull(_h.Core.Tree.GetNode("/theirs"));
        Assert.Null(_h.Core.Sessions.Get(owner.SessionId));
        Assert.Equal([new Notification(EventType.NodeDeleted, "/e1"), new Notification(EventType.NodeChildrenChanged, "/p")], other.Events);
        Assert.Equal(7, _h.StatOf("/p").Pzxid);
        Assert.Equal(7, _h.StatOf("/").Pzxid);
    }

    [Fact]
    public void AnEphemeralCreatedInTheSameBatchAsCloseSessionIsDeletedToo()
    {
        var c = _h.Connect();
        _h.Send(c, OpCode.Create2, Req.Create("/late", mode: CreateMode.Ephemeral));
        _h.Send(c, OpCode.CloseSession);
        Assert.Equal(["/late"], ((CloseSessionTxn)_h.Log.Entries[^1].Txn).PathsToDelete);
        _h.Sync();
        Assert.Equal([ErrorCode.Ok, ErrorCode.Ok], c.Replies.Select(r => r.Err));
        Assert.Null(_h.Core.Tree.GetNode("/late"));
        Assert.Empty(_h.Core.Tree.EphemeralsOf(c.SessionId));
    }

    [Fact]
    public void SessionExpiresAtTheEndOfItsTickBucketAndLosesItsEphemerals()
    {
        var owner = _h.Connect(timeout: 4000);
        var observer = _h.Connect(timeout: 40000);
        _h.MustCreate(owner, "/e", mode: CreateMode.Ephemeral);
        Assert.Equal(ErrorCode.Ok, _h.Call(observer, OpCode.Exists, Req.Watch("/e", true)).Err);

        // Touched at 1_000_000 with 4000 ms: the bucket ends at ((1_004_000 / 2000) + 1) * 2000.
        Assert.Equal(1_006_000, _h.Core.Sessions.Get(owner.SessionId)!.ExpiresAt);
        _h.Clock.Advance(5999);
        _h.Tick();
        Assert.Equal(3, _h.Log.Entries.Count);
        Assert.False(_h.Core.Sessions.Get(owner.SessionId)!.IsClosing);

        _h.Clock.Advance(1);
        _h.Tick();
        var (header, txn) = _h.Log.Entries[^1];
        Assert.Equal(new TxnHeader(owner.SessionId, 0, 4, _h.Clock.WallMillis, OpCode.CloseSession), header);
        Assert.Equal(["/e"], ((CloseSessionTxn)txn).PathsToDelete);

        // While the close is on its way, the session's requests are dropped, as ZooKeeper drops them.
        Assert.True(_h.Core.Sessions.Get(owner.SessionId)!.IsClosing);
        var repliesBefore = owner.Replies.Count();
        var late = _h.Send(owner, OpCode.GetData, Req.Watch("/e"));
        var lateWrite = _h.Send(owner, OpCode.Create2, Req.Create("/late"));
        Assert.Equal(repliesBefore, owner.Replies.Count());
        Assert.Equal(4, _h.Log.Entries.Count);
        Assert.False(owner.IsClosed);

        _h.Sync();
        Assert.True(owner.IsClosed);
        Assert.IsType<Closed>(owner.Log[^1]);
        Assert.False(owner.HasReplyTo(late) || owner.HasReplyTo(lateWrite));
        Assert.Null(_h.Core.Tree.GetNode("/late"));
        Assert.Equal(new Notification(EventType.NodeDeleted, "/e"), observer.Events.Single());
        Assert.Null(_h.Core.Tree.GetNode("/e"));
        Assert.Null(_h.Core.Sessions.Get(owner.SessionId));
        Assert.False(observer.IsClosed);
    }

    [Fact]
    public void ASessionExpiringWithAWriteInFlightStillAnswersItInOrderThenCloses()
    {
        var c = _h.Connect(timeout: 4000);
        var write = _h.Send(c, OpCode.Create2, Req.Create("/w"));
        _h.Clock.Advance(6000);
        _h.Tick();
        var read = _h.Send(c, OpCode.Exists, Req.Watch("/w"));
        Assert.Empty(c.Replies);
        _h.Sync();
        Assert.Equal([write], c.Replies.Select(r => r.Xid));
        Assert.False(c.HasReplyTo(read));
        Assert.IsType<Closed>(c.Log[^1]);
        Assert.Equal(OpCode.CloseSession, _h.Log.Entries[^1].Header.Type);
    }

    [Fact]
    public void EveryRequestPushesTheExpiryOut()
    {
        var c = _h.Connect(timeout: 4000);
        _h.Clock.Advance(3000);
        _h.Call(c, OpCode.Ping, xid: Xids.Ping);
        Assert.Equal(1_008_000, _h.Core.Sessions.Get(c.SessionId)!.ExpiresAt);
        _h.AdvanceAndTick(3000);
        Assert.False(c.IsClosed);
        _h.AdvanceAndTick(2000);
        Assert.True(c.IsClosed);
    }

    [Fact]
    public void ALostConnectionKeepsTheSessionUntilItExpires()
    {
        var c = _h.Connect(timeout: 10000);
        _h.MustCreate(c, "/e", mode: CreateMode.Ephemeral);
        _h.Core.Handle(new ConnectionClosedMessage(c));
        _h.AdvanceAndTick(5000);
        Assert.NotNull(_h.Core.Sessions.Get(c.SessionId));

        var back = _h.Connect(timeout: 10000, sessionId: c.SessionId, password: c.Handshake!.Password);
        Assert.Equal(c.SessionId, back.Handshake!.SessionId);
        Assert.NotNull(_h.Core.Tree.GetNode("/e"));

        _h.Core.Handle(new ConnectionClosedMessage(back));
        _h.AdvanceAndTick(13000);
        Assert.Null(_h.Core.Sessions.Get(c.SessionId));
        Assert.Null(_h.Core.Tree.GetNode("/e"));
    }

    [Fact]
    public void RequestsSentBeforeTheHandshakeIsDurableAreAnsweredAfterIt()
    {
        var c = _h.BeginConnect();
        var read = _h.Send(c, OpCode.Exists, Req.Watch("/"));
        var write = _h.Send(c, OpCode.Create2, Req.Create("/early"));
        Assert.Empty(c.Log);
        _h.Sync();
        Assert.IsType<Handshake>(c.Log[0]);
        Assert.Equal([read, write], c.Replies.Select(r => r.Xid));
        Assert.Equal([1L, 2L], c.Replies.Select(r => r.Zxid));
    }

    [Fact]
    public void RequestsOfAnEndedSessionAreIgnored()
    {
        var c = _h.Connect();
        _h.Call(c, OpCode.CloseSession);
        Assert.True(c.IsClosed);
        var replies = c.Replies.Count();
        _h.Send(c, OpCode.Ping, xid: Xids.Ping);
        Assert.Equal(replies, c.Replies.Count());
        Assert.Equal(0, c.SendsAfterClose);
    }

    [Fact]
    public void PingIsAnsweredWithItsXidAndTheLastZxid()
    {
        var c = _h.Connect();
        _h.MustCreate(c, "/a");
        var reply = _h.Call(c, OpCode.Ping, xid: Xids.Ping);
        Assert.Equal(new ReplyHeader(Xids.Ping, 2, ErrorCode.Ok), reply.Header);
        Assert.Null(reply.Body);
        Assert.Equal(2, _h.Log.Entries.Count);
    }
}

public sealed class SessionPasswordTests
{
    // Computed with Java 17: new java.util.Random(id ^ 0xB3415C00L).nextBytes(new byte[16]).
    [Theory]
    [InlineData(0L, "F22ACD4A97E69D6D20A49BB638EADB38")]
    [InlineData(1L, "054CC74A37327DB215E702E20C73F005")]
    [InlineData(0x1000000000000L, "F22ACD4A97E69D6D20A49BB638EADB38")]
    [InlineData(0x0186f0b9a1230000L, "BFB68A1DE09AE81A35FDAF1E29B6EA26")]
    [InlineData(-1L, "20F62CB5648DC2D771471C8A2486A9EE")]
    [InlineData(unchecked((long)0x8000000000000005UL), "51D0AF4AB760FAC5EAF29F8F5A96423A")]
    public void MatchesJavaRandom(long sessionId, string hex)
    {
        var password = SessionPassword.For(sessionId);
        Assert.Equal(hex, Convert.ToHexString(password));
        Assert.Equal(SessionPassword.Length, password.Length);
        Assert.True(SessionPassword.Matches(sessionId, Convert.FromHexString(hex)));
    }

    [Fact]
    public void IsDeterministicAndOnlyItsOwnPasswordMatches()
    {
        Assert.Equal(SessionPassword.For(42), SessionPassword.For(42));
        Assert.NotEqual(SessionPassword.For(42), SessionPassword.For(43));
        Assert.False(SessionPassword.Matches(42, SessionPassword.For(43)));
        Assert.False(SessionPassword.Matches(42, SessionPassword.For(42).AsSpan(0, 15)));
        Assert.False(SessionPassword.Matches(42, []));
    }
}
