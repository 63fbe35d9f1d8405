using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Tests.Core;

public sealed class ServerCoreTests
{
    private readonly CoreHarness _h = new();

    private static CreateRequest Create(string path, string data = "", CreateMode mode = CreateMode.Persistent) =>
        new(path, System.Text.Encoding.UTF8.GetBytes(data), CoreHarness.Open, (int)mode);

    [Fact]
    public void NoHandshakeBeforeTheSessionIsDurable()
    {
        var connection = new FakeConnection();
        _h.Core.Handle(new ConnectMessage(connection, new ConnectRequest(0, 0, 30000, 0, new byte[16], false)));
        _h.Core.EndBatch();
        Assert.Null(connection.Handshake);
        _h.Sync();
        var handshake = Assert.IsType<ConnectResponse>(connection.Handshake);
        Assert.Equal(30000, handshake.Timeout);
        Assert.Equal(SessionPassword.For(handshake.SessionId), handshake.Password);
    }

    [Theory]
    [InlineData(100, 4000)]
    [InlineData(10000, 10000)]
    [InlineData(999999, 40000)]
    public void TimeoutIsNegotiatedIntoTheConfiguredRange(int asked, int granted) =>
        Assert.Equal(granted, _h.Connect(asked).Handshake!.Timeout);

    [Fact]
    public void ClientAheadOfTheServerIsRefused()
    {
        var connection = _h.Connect(lastZxid: 1000);
        Assert.True(connection.IsClosed);
        Assert.Null(connection.Handshake);
    }

    [Fact]
    public void NoWriteIsAnsweredBeforeItsTxnIsDurable()
    {
        var c = _h.Connect();
        _h.Send(c, OpCode.Create2, Create("/a"));
        Assert.Empty(c.Replies);
        _h.Sync();
        var (header, body) = Assert.Single(c.Replies);
        Assert.Equal(ErrorCode.Ok, header.Err);
        Assert.Equal("/a", ((CreateResponse)body!).Path);
    }

    [Fact]
    public void AReadWaitsForItsSessionsEarlierWritesAndRepliesKeepRequestOrder()
    {
        var writer = _h.Connect();
        var other = _h.Connect();
        _h.Send(writer, OpCode.Create2, Create("/a", "1"));
        _h.Send(writer, OpCode.GetData, new PathWatchRequest("/a", false));
        _h.Send(other, OpCode.Exists, new PathWatchRequest("/a", false));

        // Another session's read is answered at once, from the applied state (the create is not applied yet).
        Assert.Equal(ErrorCode.NoNode, Assert.Single(other.Replies).Header.Err);
        Assert.Empty(writer.Replies);
        _h.Sync();
        var replies = writer.Replies.ToList();
        Assert.Equal(2, replies.Count);
        Assert.True(replies[0].Header.Xid < replies[1].Header.Xid);
        Assert.Equal("1", System.Text.Encoding.UTF8.GetString(((GetDataResponse)replies[1].Body!).Data!));
    }

    [Fact]
    public void PipelinedWritesSeeEachOther()
    {
        var c = _h.Connect();
        _h.Send(c, OpCode.Create2, Create("/p"));
        _h.Send(c, OpCode.Create2, Create("/p/kid"));
        _h.Send(c, OpCode.Create2, Create("/p/seq-", mode: CreateMode.PersistentSequential));
        _h.Send(c, OpCode.Delete, new PathVersionRequest("/p", -1));
        _h.Sync();
        var errors = c.Replies.Select(r => r.Header.Err).ToList();
        Assert.Equal([ErrorCode.Ok, ErrorCode.Ok, ErrorCode.Ok, ErrorCode.NotEmpty], errors);
        Assert.Equal("/p/seq-0000000001", ((CreateResponse)c.Replies.ElementAt(2).Body!).Path);
    }

    [Fact]
    public void WatchEventReachesTheWatcherBeforeTheReplyThatShowsTheChange()
    {
        var c = _h.Connect();
        _h.Call(c, OpCode.Create2, Create("/w", "0"));
        _h.Call(c, OpCode.GetData, new PathWatchRequest("/w", true));
        _h.Send(c, OpCode.SetData, new SetDataRequest("/w", [1], -1));
        _h.Sync();
        var last = c.Sent.TakeLast(2).ToList();
        Assert.Equal((EventType.NodeDataChanged, "/w"), last[0]);
        Assert.IsType<(ReplyHeader, Response?)>(last[1]);
    }

    [Fact]
    public void ExpiredSessionLosesItsEphemeralsAndConnection()
    {
        var owner = _h.Connect(timeout: 4000);
        var observer = _h.Connect();
        _h.Call(owner, OpCode.Create2, Create("/e", mode: CreateMode.Ephemeral));
        _h.Call(observer, OpCode.Exists, new PathWatchRequest("/e", true));

        _h.Clock.Advance(3000);
        _h.Core.Handle(TickMessage.Instance);
        _h.Sync();
        Assert.False(owner.IsClosed);

        _h.Clock.Advance(4000);
        _h.Core.Handle(TickMessage.Instance);
        _h.Sync();
        Assert.True(owner.IsClosed);
        Assert.Contains((EventType.NodeDeleted, "/e"), observer.Events);
        Assert.Null(_h.Core.Tree.GetNode("/e"));
        Assert.Null(_h.Core.Sessions.Get(owner.SessionId));
    }

    [Fact]
    public void ReconnectKeepsTheSessionAndClosesTheOldConnection()
    {
        var first = _h.Connect();
        var id = first.Handshake!.SessionId;
        _h.Call(first, OpCode.Create2, Create("/mine", mode: CreateMode.Ephemeral));
        var second = _h.Connect(sessionId: id, password: first.Handshake.Password);
        Assert.Equal(id, second.Handshake!.SessionId);
        Assert.True(first.IsClosed);
        Assert.Equal(ErrorCode.Ok, _h.Call(second, OpCode.Exists, new PathWatchRequest("/mine", false)).Header.Err);

        var intruder = _h.Connect(sessionId: id, password: new byte[16]);
        Assert.Equal(0, intruder.Handshake!.Timeout);
        Assert.True(intruder.IsClosed);
        Assert.False(second.IsClosed);
    }

    [Fact]
    public void FailedMultiAppliesNothingAndReportsPerOpResults()
    {
        var c = _h.Connect();
        var (header, body) = _h.Call(c, OpCode.Multi, ops:
        [
            new MultiOp(OpCode.Create, Create("/m1")),
            new MultiOp(OpCode.Delete, new PathVersionRequest("/absent", -1)),
            new MultiOp(OpCode.Create, Create("/m2")),
        ]);
        Assert.Equal(ErrorCode.Ok, header.Err);
        var results = ((MultiResponse)body!).Results;
        Assert.Equal([ErrorCode.Ok, ErrorCode.NoNode, ErrorCode.RuntimeInconsistency], results.Select(r => r.Err));
        Assert.All(results, r => Assert.Equal(OpCode.Error, r.Type));
        Assert.Null(_h.Core.Tree.GetNode("/m1"));

        // The failed multi's pending changes were rolled back: /m1 can be created now.
        Assert.Equal(ErrorCode.Ok, _h.Call(c, OpCode.Create2, Create("/m1")).Header.Err);
    }

    [Fact]
    public void EmptiedContainerIsDeletedByThePeriodicCheck()
    {
        var h = new CoreHarness(new CoreOptions { ContainerCheckIntervalMs = 1000 });
        var c = h.Connect();
        h.Call(c, OpCode.CreateContainer, new CreateRequest("/c", [], CoreHarness.Open, (int)CreateMode.Container));
        h.Call(c, OpCode.Create2, Create("/c/kid"));
        h.Call(c, OpCode.Delete, new PathVersionRequest("/c/kid", -1));
        h.Clock.Advance(1500);
        h.Core.Handle(TickMessage.Instance);
        h.Sync();
        Assert.Null(h.Core.Tree.GetNode("/c"));
    }

    [Fact]
    public void FailedWritesStillConsumeAZxidAsInZooKeeper()
    {
        var c = _h.Connect();
        var first = _h.Call(c, OpCode.Create2, Create("/z")).Header.Zxid;
        var failed = _h.Call(c, OpCode.Create2, Create("/z")).Header;
        Assert.Equal(ErrorCode.NodeExists, failed.Err);
        Assert.Equal(first + 1, failed.Zxid);
    }
}

public sealed class SuperUserTests
{
    [Fact]
    public void SuperDigestBypassesEveryAcl()
    {
        var h = new CoreHarness(new CoreOptions { SuperDigest = Auth.AuthProviders.DigestOf("super:admin") });
        var owner = h.Connect();
        h.Call(owner, OpCode.Create2,
            new CreateRequest("/locked", [1], [new Acl(Perms.Read, new Id("digest", Auth.AuthProviders.DigestOf("x:y")))], 0));
        var admin = h.Connect();
        Assert.Equal(ErrorCode.NoAuth, h.Call(admin, OpCode.GetData, new PathWatchRequest("/locked", false)).Header.Err);
        h.Core.Handle(new RequestMessage(new ClientRequest
        {
            Connection = admin,
            Xid = -4,
            Type = OpCode.Auth,
            Auth = new AuthPacket(0, "digest", System.Text.Encoding.UTF8.GetBytes("super:admin")),
        }));
        Assert.Equal(ErrorCode.Ok, admin.Replies.Last().Header.Err);
        Assert.Equal(ErrorCode.Ok, h.Call(admin, OpCode.GetData, new PathWatchRequest("/locked", false)).Header.Err);
        Assert.Equal(ErrorCode.Ok, h.Call(admin, OpCode.SetAcl, new SetAclRequest("/locked", [.. Acl.OpenAclUnsafe], -1)).Header.Err);
    }
}
