using System.Collections.Concurrent;
using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client.Tests;

/// <summary>The client against a scripted fake server: wire format, ordering, watches, reconnects and failures.</summary>
public sealed class ClientProtocolTests : IAsyncLifetime
{
    private readonly FakeServer _server = new();
    private readonly List<ZooKeeperClient> _clients = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.AbortAsync();
        }

        await _server.DisposeAsync();
    }

    private ZooKeeperClientOptions Options(string? connectString = null) => new()
    {
        ConnectString = connectString ?? _server.ConnectString,
        SessionTimeout = TimeSpan.FromSeconds(10),
        ReconnectDelay = TimeSpan.Zero,
        ShuffleHosts = false,
    };

    private async Task<(ZooKeeperClient Client, FakeConnection Server)> ConnectAsync(ZooKeeperClientOptions? options = null, FakeServer? server = null)
    {
        var connecting = ZooKeeperClient.ConnectAsync(options ?? Options());
        var connection = await (server ?? _server).AcceptAsync();
        var client = await connecting.WaitAsync(FakeServer.Patience);
        _clients.Add(client);
        return (client, connection);
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + FakeServer.Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(5);
        }
    }

    /// <summary>A round trip: its reply completes only after every event the server sent before it was dispatched.</summary>
    private static async Task BarrierAsync(ZooKeeperClient client, FakeConnection server)
    {
        var sync = client.SendAsync(OpCode.Sync, new PathOnlyRequest("/"));
        var request = await server.ReadNonPingAsync();
        await server.ReplyAsync(request, 0, ErrorCode.Ok, new PathResponse("/"));
        Assert.Equal(ErrorCode.Ok, (await sync.WaitAsync(FakeServer.Patience)).Err);
    }

    [Fact]
    public async Task HandshakeCarriesTheSessionFieldsAndTheClientAdoptsTheAnswer()
    {
        var events = new ConcurrentQueue<WatchedEvent>();
        _server.Handshake = request => new ConnectResponse(0, 3000, 0x1234, FakeServer.Password, false);
        var (client, server) = await ConnectAsync(Options() with
        {
            SessionTimeout = TimeSpan.FromSeconds(4),
            LastZxidSeen = 0x55,
            CanBeReadOnly = true,
            DefaultWatcher = events.Enqueue,
        });

        var connect = server.Connect;
        Assert.Equal((0, 0x55L, 4000, 0L, true), (connect.ProtocolVersion, connect.LastZxidSeen, connect.Timeout, connect.SessionId, connect.ReadOnly));
        Assert.Equal(new byte[16], server.Connect.Password);
        Assert.Equal(0x1234, client.SessionId);
        Assert.Equal(FakeServer.Password, client.SessionPassword);
        Assert.Equal(TimeSpan.FromSeconds(3), client.NegotiatedTimeout);
        Assert.Equal(KeeperState.SyncConnected, client.State);
        Assert.Equal(0x55, client.LastZxid);
        await EventuallyAsync(() => events.Contains(new WatchedEvent(EventType.None, KeeperState.SyncConnected, null)), "the SyncConnected event");
    }

    [Fact]
    public async Task OldClientsLeaveTheReadOnlyByteOut()
    {
        var (_, server) = await ConnectAsync(Options() with { OmitReadOnlyFlag = true });
        Assert.Equal(4 + 8 + 4 + 8 + 4 + 16, server.ConnectFrameLength);
        Assert.False(server.Connect.ReadOnly);
    }

    [Fact]
    public async Task AReadOnlyServerGivesConnectedReadOnly()
    {
        _server.Handshake = request => _server.Accept(request) with { ReadOnly = true };
        var (client, _) = await ConnectAsync(Options() with { CanBeReadOnly = true });
        Assert.Equal(KeeperState.ConnectedReadOnly, client.State);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task ARefusedSessionIsExpired()
    {
        _server.Handshake = request => new ConnectResponse(0, 0, 0, new byte[16], false);
        var error = await Assert.ThrowsAsync<KeeperException>(() => ZooKeeperClient.ConnectAsync(Options() with { SessionId = 0x99, SessionPassword = new byte[16] }));
        Assert.Equal(ErrorCode.SessionExpired, error.Code);
    }

    [Fact]
    public async Task RawRepliesCarryTheErrorCodeTheZxidAndTheBodyWithoutThrowing()
    {
        var (client, server) = await ConnectAsync();

        var missing = client.SendAsync(OpCode.GetData, new PathWatchRequest("/a", false));
        var request = await server.ReadNonPingAsync();
        Assert.Equal((OpCode.GetData, "/a"), (request.Op, request.Path));
        Assert.False(((PathWatchRequest)request.PathBody!).Watch);
        await server.ReplyAsync(request, 7, ErrorCode.NoNode);
        Assert.Equal(new ZkResult(ErrorCode.NoNode, 7, null), await missing);
        Assert.Equal(7, client.LastZxid);

        var stat = new Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        var found = client.SendAsync(OpCode.GetData, new PathWatchRequest("/b", false));
        request = await server.ReadNonPingAsync();
        await server.ReplyAsync(request, 9, ErrorCode.Ok, new GetDataResponse([1, 2, 3], stat));
        var result = await found;
        Assert.Equal((ErrorCode.Ok, 9L), (result.Err, result.Zxid));
        var body = result.BodyAs<GetDataResponse>();
        Assert.Equal([1, 2, 3], body.Data);
        Assert.Equal(stat, body.Stat);

        // A reply without a zxid leaves LastZxid alone; a body after an error is ignored, as ZooKeeper's client does.
        var deleted = client.SendAsync(OpCode.Delete, new PathVersionRequest("/c", 3));
        request = await server.ReadNonPingAsync();
        Assert.Equal(new PathVersionRequest("/c", 3), request.PathBody);
        await server.ReplyAsync(request, -1, ErrorCode.BadVersion, new StatResponse(stat));
        Assert.Equal(new ZkResult(ErrorCode.BadVersion, -1, null), await deleted);
        Assert.Equal(9, client.LastZxid);

        var typed = client.SetDataAsync("/d", [1], 4);
        request = await server.ReadNonPingAsync();
        var setData = (SetDataRequest)request.PathBody!;
        Assert.Equal(("/d", 4), (setData.Path, setData.Version));
        Assert.Equal([1], setData.Data);
        await server.ReplyAsync(request, 10, ErrorCode.NoNode);
        var error = await Assert.ThrowsAsync<KeeperException>(() => typed);
        Assert.Equal((ErrorCode.NoNode, "/d"), (error.Code, error.Path));
    }

    [Fact]
    public async Task AThousandPipelinedRequestsAreAllOnTheWireBeforeAnyReplyAndEachGetsItsOwn()
    {
        var (client, server) = await ConnectAsync();
        var tasks = Enumerable.Range(0, 1000).Select(i => client.SendAsync(OpCode.Sync, new PathOnlyRequest($"/p{i}"))).ToArray();

        var requests = new List<FakeRequest>();
        while (requests.Count < 1000)
        {
            requests.Add(await server.ReadNonPingAsync());
        }

        Assert.All(tasks, t => Assert.False(t.IsCompleted));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"/p{i}"), requests.Select(r => r.Path));
        Assert.Equal(requests.Select(r => r.Xid).Order(), requests.Select(r => r.Xid));
        Assert.Equal(1000, requests.Select(r => r.Xid).Distinct().Count());

        foreach (var request in requests)
        {
            await server.ReplyAsync(request, 100 + request.Xid, ErrorCode.Ok, new PathResponse(request.Path!));
        }

        var results = await Task.WhenAll(tasks).WaitAsync(FakeServer.Patience);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal($"/p{i}", results[i].BodyAs<PathResponse>().Path);
            Assert.Equal(100 + requests[i].Xid, results[i].Zxid);
        }
    }

    [Fact]
    public async Task AReplyOutOfOrderDropsTheConnectionAndFailsWhatWasInFlight()
    {
        var (client, server) = await ConnectAsync();
        var first = client.SendAsync(OpCode.Exists, new PathWatchRequest("/1", false));
        var second = client.SendAsync(OpCode.Exists, new PathWatchRequest("/2", false));
        await server.ReadNonPingAsync();
        var secondRequest = await server.ReadNonPingAsync();
        await server.ReplyAsync(secondRequest, 5, ErrorCode.NoNode);

        Assert.Equal(ErrorCode.ConnectionLoss, (await first.WaitAsync(FakeServer.Patience)).Err);
        Assert.Equal(ErrorCode.ConnectionLoss, (await second.WaitAsync(FakeServer.Patience)).Err);
        Assert.True(await server.ClosedByPeerAsync());

        var again = await _server.AcceptAsync();
        Assert.Equal(client.SessionId, again.Connect.SessionId);
        await EventuallyAsync(() => client.State == KeeperState.SyncConnected, "the reconnection");
    }

    [Fact]
    public async Task AWatchEventCompletesBeforeTheReplyThatFollowsIt()
    {
        var (client, server) = await ConnectAsync();
        var log = new ConcurrentQueue<string>();
        using var watcherEntered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);

        var get = client.GetDataAsync("/w", e =>
        {
            log.Enqueue("event " + e.Type);
            watcherEntered.Release();
            release.Wait(FakeServer.Patience);
        });
        var request = await server.ReadNonPingAsync();
        Assert.True(((PathWatchRequest)request.PathBody!).Watch);
        await server.ReplyAsync(request, 1, ErrorCode.Ok, new GetDataResponse([0], default));
        await get;

        var set = client.SetDataAsync("/w", [1]).ContinueWith(t => log.Enqueue("reply"), TaskScheduler.Default);
        request = await server.ReadNonPingAsync();
        await server.NotifyAsync(EventType.NodeDataChanged, "/w");
        await server.ReplyAsync(request, 2, ErrorCode.Ok, new StatResponse(default));

        Assert.True(await watcherEntered.WaitAsync(FakeServer.Patience));
        await EventuallyAsync(() => client.LastZxid == 2, "the client reading the reply");
        Assert.False(set.IsCompleted);
        release.Release();
        await set.WaitAsync(FakeServer.Patience);
        Assert.Equal(["event NodeDataChanged", "reply"], log);
    }

    [Fact]
    public async Task OneShotWatchesFollowTheReplyCodes()
    {
        var (client, server) = await ConnectAsync();
        var fired = new ConcurrentQueue<string>();
        var raw = new ConcurrentQueue<WatchedEvent>();
        client.NotificationReceived += raw.Enqueue;

        // exists on a missing node leaves an exist watch; getData on a missing node leaves nothing.
        var exists = client.ExistsAsync("/x", e => fired.Enqueue($"exists {e.Type} {e.Path}"));
        await server.ReplyAsync(await server.ReadNonPingAsync(), 1, ErrorCode.NoNode);
        Assert.Null(await exists);
        var get = client.GetDataAsync("/y", e => fired.Enqueue($"get {e.Type} {e.Path}"));
        await server.ReplyAsync(await server.ReadNonPingAsync(), 2, ErrorCode.NoNode);
        Assert.Equal(ErrorCode.NoNode, (await Assert.ThrowsAsync<KeeperException>(() => get)).Code);
        var children = client.GetChildrenAsync("/z", e => fired.Enqueue($"children {e.Type} {e.Path}"));
        var request = await server.ReadNonPingAsync();
        Assert.Equal(OpCode.GetChildren2, request.Op);
        await server.ReplyAsync(request, 3, ErrorCode.Ok, new GetChildrenResponse(["a", "b"], default(Stat)));
        Assert.Equal(["a", "b"], (await children).Children);

        await server.NotifyAsync(EventType.NodeCreated, "/x");
        await server.NotifyAsync(EventType.NodeCreated, "/y");
        await server.NotifyAsync(EventType.NodeCreated, "/x");
        await server.NotifyAsync(EventType.NodeDataChanged, "/z");
        await server.NotifyAsync(EventType.NodeChildrenChanged, "/z");
        await server.NotifyAsync(EventType.NodeChildrenChanged, "/z");
        await BarrierAsync(client, server);

        Assert.Equal(["exists NodeCreated /x", "children NodeChildrenChanged /z"], fired);
        Assert.Equal(6, raw.Count);
        Assert.Equal((0, 0, 0, 0, 0), client.WatchCounts);
    }

    [Fact]
    public async Task OneWatcherOnSeveralTablesHearsAnEventOnce()
    {
        var (client, server) = await ConnectAsync();
        var count = 0;
        Watcher watcher = _ => Interlocked.Increment(ref count);
        var get = client.GetDataAsync("/n", watcher);
        await server.ReplyAsync(await server.ReadNonPingAsync(), 1, ErrorCode.Ok, new GetDataResponse(null, default));
        Assert.Empty((await get).Data);
        var children = client.GetChildrenAsync("/n", watcher);
        await server.ReplyAsync(await server.ReadNonPingAsync(), 2, ErrorCode.Ok, new GetChildrenResponse([], default(Stat)));
        await children;

        await server.NotifyAsync(EventType.NodeDeleted, "/n");
        await BarrierAsync(client, server);
        Assert.Equal(1, count);
    }

    [Fact]
    public async Task PersistentRecursiveWatchesSeeTheSubtreeUntilRemoved()
    {
        var (client, server) = await ConnectAsync();
        var fired = new ConcurrentQueue<string>();
        var add = client.AddWatchAsync("/r", AddWatchMode.PersistentRecursive, e => fired.Enqueue($"{e.Type} {e.Path}"));
        var request = await server.ReadNonPingAsync();
        Assert.Equal((OpCode.AddWatch, new PathIntRequest("/r", 1)), (request.Op, request.PathBody));
        await server.ReplyAsync(request, 1);
        await add;

        await server.NotifyAsync(EventType.NodeCreated, "/r/a/b");
        await server.NotifyAsync(EventType.NodeDataChanged, "/r");
        await server.NotifyAsync(EventType.NodeDataChanged, "/rr");
        await server.NotifyAsync(EventType.NodeDeleted, "/r/a/b");
        await BarrierAsync(client, server);
        Assert.Equal(["NodeCreated /r/a/b", "NodeDataChanged /r", "NodeDeleted /r/a/b"], fired);

        var remove = client.RemoveWatchesAsync("/r", null, WatcherType.Any);
        request = await server.ReadNonPingAsync();
        Assert.Equal((OpCode.RemoveWatches, new PathIntRequest("/r", 3)), (request.Op, request.PathBody));
        await server.ReplyAsync(request, 2);
        await remove;
        await server.NotifyAsync(EventType.NodeCreated, "/r/c");
        await BarrierAsync(client, server);
        Assert.Equal(["NodeCreated /r/a/b", "NodeDataChanged /r", "NodeDeleted /r/a/b", "PersistentWatchRemoved /r"], fired);

        // Nothing left to remove: NoWatcher, whatever the server says.
        remove = client.RemoveWatchesAsync("/r", null, WatcherType.Any);
        await server.ReplyAsync(await server.ReadNonPingAsync(), 3);
        Assert.Equal(ErrorCode.NoWatcher, (await Assert.ThrowsAsync<KeeperException>(() => remove)).Code);
    }

    [Fact]
    public async Task RemovingOneWatcherUsesCheckWatchesAndLeavesTheOthers()
    {
        var (client, server) = await ConnectAsync();
        var fired = new ConcurrentQueue<string>();
        Watcher first = e => fired.Enqueue("first " + e.Type);
        Watcher second = e => fired.Enqueue("second " + e.Type);
        foreach (var watcher in new[] { first, second })
        {
            var get = client.GetDataAsync("/m", watcher);
            await server.ReplyAsync(await server.ReadNonPingAsync(), 1, ErrorCode.Ok, new GetDataResponse([], default));
            await get;
        }

        var remove = client.RemoveWatchesAsync("/m", first, WatcherType.Data);
        var request = await server.ReadNonPingAsync();
        Assert.Equal((OpCode.CheckWatches, new PathIntRequest("/m", 2)), (request.Op, request.PathBody));
        await server.ReplyAsync(request, 2);
        await remove;
        await server.NotifyAsync(EventType.NodeDataChanged, "/m");
        await BarrierAsync(client, server);
        Assert.Equal(["first DataWatchRemoved", "second NodeDataChanged"], fired);
    }

    [Fact]
    public async Task LosingTheConnectionFailsInFlightRequestsAndTheNextServerGetsTheSessionAndItsWatches()
    {
        await using var other = new FakeServer();
        var states = new ConcurrentQueue<KeeperState>();
        var (client, server) = await ConnectAsync(Options($"{_server.ConnectString},{other.ConnectString}"));
        client.StateChanged += states.Enqueue;
        var sessionId = client.SessionId;

        async Task ReplyNextAsync(long zxid, ErrorCode err, Response? body) =>
            await server.ReplyAsync(await server.ReadNonPingAsync(), zxid, err, body);

        var data = client.GetDataAsync("/d", _ => { });
        await ReplyNextAsync(10, ErrorCode.Ok, new GetDataResponse([], default));
        await data;
        var exists = client.ExistsAsync("/e", _ => { });
        await ReplyNextAsync(11, ErrorCode.NoNode, null);
        await exists;
        var children = client.GetChildrenAsync("/c", _ => { });
        await ReplyNextAsync(12, ErrorCode.Ok, new GetChildrenResponse([], default(Stat)));
        await children;
        var persistent = client.AddWatchAsync("/p", AddWatchMode.Persistent, _ => { });
        await ReplyNextAsync(13, ErrorCode.Ok, null);
        await persistent;

        var inFlight = Enumerable.Range(0, 3).Select(i => client.SendAsync(OpCode.Sync, new PathOnlyRequest("/s" + i))).ToArray();
        for (var i = 0; i < 3; i++)
        {
            await server.ReadNonPingAsync();
        }

        server.Close();
        foreach (var request in inFlight)
        {
            Assert.Equal(new ZkResult(ErrorCode.ConnectionLoss, 0, null), await request.WaitAsync(FakeServer.Patience));
        }

        var next = await other.AcceptAsync();
        Assert.Equal((sessionId, 13L), (next.Connect.SessionId, next.Connect.LastZxidSeen));
        Assert.Equal(FakeServer.Password, next.Connect.Password);
        var setWatches = await next.ReadNonPingAsync();
        Assert.Equal((Xids.SetWatches, OpCode.SetWatches2), (setWatches.Xid, setWatches.Op));
        var watches = setWatches.Decode((ref JuteReader r) => SetWatchesRequest.Read(ref r, version2: true));
        Assert.Equal(13, watches.RelativeZxid);
        Assert.Equal(["/d"], watches.DataWatches);
        Assert.Equal(["/e"], watches.ExistWatches);
        Assert.Equal(["/c"], watches.ChildWatches);
        Assert.Equal(["/p"], watches.PersistentWatches);
        Assert.Empty(watches.PersistentRecursiveWatches);
        await next.ReplyAsync(Xids.SetWatches, 13, ErrorCode.Ok);

        await EventuallyAsync(() => client.State == KeeperState.SyncConnected && states.Count >= 2, "the reconnection");
        Assert.Equal([KeeperState.Disconnected, KeeperState.SyncConnected], states);
        Assert.Equal($"127.0.0.1:{other.Port}", client.CurrentServer);

        var after = client.SendAsync(OpCode.Exists, new PathWatchRequest("/after", false));
        var afterRequest = await next.ReadNonPingAsync();
        Assert.True(afterRequest.Xid > inFlight.Length);
        await next.ReplyAsync(afterRequest, 14, ErrorCode.Ok, new StatResponse(default));
        Assert.Equal(ErrorCode.Ok, (await after).Err);
        Assert.Equal(14, client.LastZxid);
    }

    [Fact]
    public async Task AReconnectSendsTheAuthsBeforeClassicSetWatches()
    {
        var (client, server) = await ConnectAsync();
        var auth = client.AddDigestAuthAsync("ann", "pw");
        var request = await server.ReadNonPingAsync();
        Assert.Equal((Xids.Auth, OpCode.Auth), (request.Xid, request.Op));
        var packet = request.Decode(AuthPacket.Read);
        Assert.Equal(("digest", "ann:pw"), (packet.Scheme, Encoding.UTF8.GetString(packet.Auth)));
        await server.ReplyAsync(Xids.Auth, 0, ErrorCode.Ok);
        await auth;

        var get = client.GetDataAsync("/d", _ => { });
        await server.ReplyAsync(await server.ReadNonPingAsync(), 5, ErrorCode.Ok, new GetDataResponse([], default));
        await get;

        client.DropConnection();
        var next = await _server.AcceptAsync();
        var resent = await next.ReadNonPingAsync();
        Assert.Equal((Xids.Auth, "digest"), (resent.Xid, resent.Decode(AuthPacket.Read).Scheme));
        var setWatches = await next.ReadNonPingAsync();
        Assert.Equal((Xids.SetWatches, OpCode.SetWatches), (setWatches.Xid, setWatches.Op));
        var watches = setWatches.Decode((ref JuteReader r) => SetWatchesRequest.Read(ref r, version2: false));
        Assert.Equal(5L, watches.RelativeZxid);
        Assert.Equal(["/d"], watches.DataWatches);
    }

    [Fact]
    public async Task AnExpiredSessionTellsEveryWatcherAndAnswersSessionExpiredFromThenOn()
    {
        var events = new ConcurrentQueue<string>();
        var (client, server) = await ConnectAsync(Options() with { DefaultWatcher = e => events.Enqueue($"default {e.State}") });
        var get = client.GetDataAsync("/d", e => events.Enqueue($"data {e.Type} {e.State}"));
        await server.ReplyAsync(await server.ReadNonPingAsync(), 5, ErrorCode.Ok, new GetDataResponse([], default));
        await get;

        _server.Handshake = request => new ConnectResponse(0, 0, 0, new byte[16], false);
        server.Close();
        await EventuallyAsync(() => client.State == KeeperState.Expired, "the expiry");
        Assert.Equal(new ZkResult(ErrorCode.SessionExpired, 0, null), await client.SendAsync(OpCode.Exists, new PathWatchRequest("/", false)));
        Assert.Equal(ErrorCode.SessionExpired, (await Assert.ThrowsAsync<KeeperException>(() => client.ExistsAsync("/"))).Code);
        await client.EventLoop.WaitAsync(FakeServer.Patience);
        Assert.Contains("data None Expired", events);
        Assert.Contains("default Expired", events);
        Assert.Contains("data None Disconnected", events);
        Assert.Equal((0, 0, 0, 0, 0), client.WatchCounts);
    }

    [Fact]
    public async Task AFailedAuthEndsTheSession()
    {
        var (client, server) = await ConnectAsync();
        var auth = client.AddAuthAsync("digest", Encoding.UTF8.GetBytes("bad"));
        await server.ReadNonPingAsync();
        await server.ReplyAsync(Xids.Auth, 0, ErrorCode.AuthFailed);
        server.Close();
        Assert.Equal(ErrorCode.AuthFailed, (await Assert.ThrowsAsync<KeeperException>(() => auth)).Code);
        Assert.Equal(KeeperState.AuthFailed, client.State);
        Assert.Equal(ErrorCode.AuthFailed, (await client.SendAsync(OpCode.Exists, new PathWatchRequest("/", false))).Err);
    }

    [Fact]
    public async Task AnOversizedFrameClosesTheConnection()
    {
        var (client, server) = await ConnectAsync(Options() with { MaxFrameSize = 1024 });
        var request = client.SendAsync(OpCode.GetData, new PathWatchRequest("/big", false));
        await server.ReadNonPingAsync();
        await server.SendRawAsync([0x00, 0x10, 0x00, 0x00, 0, 0, 0, 1]);
        Assert.Equal(ErrorCode.ConnectionLoss, (await request.WaitAsync(FakeServer.Patience)).Err);
        Assert.True(await server.ClosedByPeerAsync());
        await _server.AcceptAsync();
    }

    [Fact]
    public async Task AnIdleClientPingsAndASilentServerIsDropped()
    {
        var states = new ConcurrentQueue<KeeperState>();
        // Long enough that a loaded machine reads and answers the first ping before the client's
        // two-thirds-of-the-timeout silence limit runs out.
        var (client, server) = await ConnectAsync(Options() with
        {
            SessionTimeout = TimeSpan.FromMilliseconds(2400),
            Reconnect = false,
            DefaultWatcher = e => states.Enqueue(e.State),
        });

        var ping = await server.ReadRequestAsync();
        Assert.Equal((Xids.Ping, OpCode.Ping), (ping.Xid, ping.Op));
        await server.ReplyAsync(Xids.Ping, 0, ErrorCode.Ok);
        ping = await server.ReadRequestAsync();
        Assert.Equal(OpCode.Ping, ping.Op);

        // No more answers: after two thirds of the timeout without a byte the client gives up the connection.
        await EventuallyAsync(() => client.State == KeeperState.Disconnected && states.Contains(KeeperState.Disconnected), "the dropped connection");
        Assert.Equal(ErrorCode.ConnectionLoss, (await client.SendAsync(OpCode.Sync, new PathOnlyRequest("/"))).Err);
    }

    [Fact]
    public async Task CloseSendsCloseSessionAndWaitsForTheReply()
    {
        var (client, server) = await ConnectAsync();
        var close = client.CloseAsync();
        var request = await server.ReadNonPingAsync();
        Assert.Equal(OpCode.CloseSession, request.Op);
        Assert.False(close.IsCompleted);
        await server.ReplyAsync(request, 20);
        await close.WaitAsync(FakeServer.Patience);
        Assert.Equal(KeeperState.Closed, client.State);
        Assert.True(await server.ClosedByPeerAsync());
        Assert.Equal(ErrorCode.SessionExpired, (await client.SendAsync(OpCode.Sync, new PathOnlyRequest("/"))).Err);
    }

    [Fact]
    public async Task TheChrootIsAddedToRequestsAndStrippedFromRepliesAndEvents()
    {
        var (client, server) = await ConnectAsync(Options(_server.ConnectString + "/app"));
        Assert.Equal("/app", client.Chroot);
        var fired = new ConcurrentQueue<string>();

        var create = client.CreateAsync("/x-", [1], CreateMode.PersistentSequential);
        var request = await server.ReadNonPingAsync();
        Assert.Equal(OpCode.Create2, request.Op);
        var body = (CreateRequest)request.PathBody!;
        Assert.Equal(("/app/x-", (int)CreateMode.PersistentSequential), (body.Path, body.Flags));
        Assert.Equal(Acl.OpenAclUnsafe, body.Acl);
        await server.ReplyAsync(request, 1, ErrorCode.Ok, new CreateResponse("/app/x-0000000001", default(Stat)));
        Assert.Equal("/x-0000000001", (await create).Path);

        var exists = client.ExistsAsync("/", e => fired.Enqueue($"{e.Type} {e.Path}"));
        request = await server.ReadNonPingAsync();
        Assert.Equal("/app", request.Path);
        await server.ReplyAsync(request, 2, ErrorCode.Ok, new StatResponse(default));
        await exists;
        await server.NotifyAsync(EventType.NodeDataChanged, "/app");
        await BarrierAsync(client, server);
        Assert.Equal(["NodeDataChanged /"], fired);

        var multi = client.MultiAsync([new MultiOp(OpCode.Create, new CreateRequest("/m", null, [.. Acl.OpenAclUnsafe], 0))]);
        request = await server.ReadNonPingAsync();
        Assert.Equal("/app/m", request.Decode(RequestCodec.ReadMulti)[0].Request.Path);
        await server.ReplyAsync(request, 3, ErrorCode.Ok, new MultiResponse([new MultiResult(OpCode.Create, ErrorCode.Ok, new CreateResponse("/app/m", null))]));
        Assert.Equal("/m", ((CreateResponse)(await multi).BodyAs<MultiResponse>().Results[0].Body).Path);
    }

    [Fact]
    public async Task MultiCarriesEveryOpAndEveryResult()
    {
        var (client, server) = await ConnectAsync();
        var ops = new List<MultiOp>
        {
            new(OpCode.Create, new CreateRequest("/a", [1], [.. Acl.OpenAclUnsafe], 0)),
            new(OpCode.SetData, new SetDataRequest("/b", [2], 3)),
            new(OpCode.Check, new PathVersionRequest("/c", 4)),
            new(OpCode.Delete, new PathVersionRequest("/d", -1)),
        };
        var multi = client.MultiAsync(ops);
        var request = await server.ReadNonPingAsync();
        Assert.Equal(OpCode.Multi, request.Op);
        Assert.Equal(ops.Select(o => (o.Type, o.Request.Path)), request.Decode(RequestCodec.ReadMulti).Select(o => (o.Type, o.Request.Path)));

        var results = new MultiResponse(
        [
            new MultiResult(OpCode.Error, ErrorCode.Ok, new IntResponse(0)),
            new MultiResult(OpCode.Error, ErrorCode.BadVersion, new IntResponse((int)ErrorCode.BadVersion)),
            MultiResult.Error(ErrorCode.RuntimeInconsistency),
            MultiResult.Error(ErrorCode.RuntimeInconsistency),
        ]);
        await server.ReplyAsync(request, 30, ErrorCode.Ok, results);
        var result = await multi;
        Assert.Equal((ErrorCode.Ok, 30L), (result.Err, result.Zxid));
        Assert.Equal([ErrorCode.Ok, ErrorCode.BadVersion, ErrorCode.RuntimeInconsistency, ErrorCode.RuntimeInconsistency],
            result.BodyAs<MultiResponse>().Results.Select(r => r.Err));

        var read = client.MultiAsync([new MultiOp(OpCode.GetData, new PathWatchRequest("/a", false))], readOnly: true);
        request = await server.ReadNonPingAsync();
        Assert.Equal(OpCode.MultiRead, request.Op);
        await server.ReplyAsync(request, 30, ErrorCode.Ok, new MultiResponse([new MultiResult(OpCode.GetData, ErrorCode.Ok, new GetDataResponse([7], default))]));
        Assert.Equal([7], ((GetDataResponse)(await read).BodyAs<MultiResponse>().Results[0].Body).Data);
    }

    [Fact]
    public async Task ACancelledRequestLeavesTheOthersMatched()
    {
        var (client, server) = await ConnectAsync();
        using var cancel = new CancellationTokenSource();
        var first = client.SendAsync(OpCode.Sync, new PathOnlyRequest("/1"), cancel.Token);
        var second = client.SendAsync(OpCode.Sync, new PathOnlyRequest("/2"));
        var r1 = await server.ReadNonPingAsync();
        var r2 = await server.ReadNonPingAsync();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await server.ReplyAsync(r1, 1, ErrorCode.Ok, new PathResponse("/1"));
        await server.ReplyAsync(r2, 2, ErrorCode.Ok, new PathResponse("/2"));
        Assert.Equal("/2", (await second).BodyAs<PathResponse>().Path);
        Assert.Equal(KeeperState.SyncConnected, client.State);
    }

    [Fact]
    public async Task AnUndecodableReplyFailsOnlyItsRequest()
    {
        var (client, server) = await ConnectAsync();
        var broken = client.SendAsync(OpCode.GetData, new PathWatchRequest("/1", false));
        var fine = client.SendAsync(OpCode.Sync, new PathOnlyRequest("/2"));
        var r1 = await server.ReadNonPingAsync();
        var r2 = await server.ReadNonPingAsync();
        await server.SendAsync(w =>
        {
            new ReplyHeader(r1.Xid, 1, ErrorCode.Ok).Write(w);
            w.WriteInt(1000); // a data length the frame does not hold
        });
        await server.ReplyAsync(r2, 2, ErrorCode.Ok, new PathResponse("/2"));
        await Assert.ThrowsAsync<ZkProtocolException>(() => broken);
        Assert.Equal("/2", (await fine).BodyAs<PathResponse>().Path);
    }

    [Fact]
    public async Task WithoutReconnectALostConnectionIsFinal()
    {
        var (client, server) = await ConnectAsync(Options() with { Reconnect = false });
        server.Close();
        await EventuallyAsync(() => client.State == KeeperState.Disconnected, "the disconnection");
        await client.EventLoop.WaitAsync(FakeServer.Patience);
        Assert.Equal(ErrorCode.ConnectionLoss, (await client.SendAsync(OpCode.Sync, new PathOnlyRequest("/"))).Err);
    }

    [Fact]
    public async Task ConnectGivesUpWhenNoServerAnswers()
    {
        _server.Handshake = _ => null;
        var error = await Assert.ThrowsAsync<KeeperException>(() => ZooKeeperClient.ConnectAsync(Options() with { SessionTimeout = TimeSpan.FromMilliseconds(300) }));
        Assert.Equal(ErrorCode.ConnectionLoss, error.Code);
    }

    [Fact]
    public async Task RawWatchFlagsRegisterTheDefaultWatcherAndSurviveReconnects()
    {
        var events = new ConcurrentQueue<WatchedEvent>();
        var (client, server) = await ConnectAsync(Options() with { DefaultWatcher = events.Enqueue });
        var raw = client.SendAsync(OpCode.GetChildren, new PathWatchRequest("/kids", true));
        await server.ReplyAsync(await server.ReadNonPingAsync(), 3, ErrorCode.Ok, new GetChildrenResponse([], null));
        Assert.Equal(ErrorCode.Ok, (await raw).Err);
        await server.NotifyAsync(EventType.NodeChildrenChanged, "/kids");
        await BarrierAsync(client, server);
        Assert.Contains(new WatchedEvent(EventType.NodeChildrenChanged, KeeperState.SyncConnected, "/kids"), events);

        raw = client.SendAsync(OpCode.Exists, new PathWatchRequest("/later", true));
        await server.ReplyAsync(await server.ReadNonPingAsync(), 4, ErrorCode.NoNode);
        await raw;
        client.DropConnection();
        var next = await _server.AcceptAsync();
        var setWatches = await next.ReadNonPingAsync();
        Assert.Equal(["/later"], setWatches.Decode((ref JuteReader r) => SetWatchesRequest.Read(ref r, false)).ExistWatches);
    }

    [Fact]
    public async Task RequestsMadeWhileReconnectingGoOutRightAfterTheHandshake()
    {
        var (client, server) = await ConnectAsync();
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += state =>
        {
            if (state == KeeperState.Disconnected)
            {
                disconnected.TrySetResult();
            }
        };

        using var gate = new SemaphoreSlim(0);
        _server.Handshake = request =>
        {
            gate.Wait(FakeServer.Patience);
            return _server.Accept(request);
        };
        server.Close();
        await disconnected.Task.WaitAsync(FakeServer.Patience);
        Assert.Equal(KeeperState.Disconnected, client.State);

        var queued = client.SendAsync(OpCode.Sync, new PathOnlyRequest("/queued"));
        gate.Release();
        var next = await _server.AcceptAsync();
        var request = await next.ReadNonPingAsync();
        Assert.Equal("/queued", request.Path);
        await next.ReplyAsync(request, 1, ErrorCode.Ok, new PathResponse("/queued"));
        Assert.Equal(ErrorCode.Ok, (await queued.WaitAsync(FakeServer.Patience)).Err);
    }
}
