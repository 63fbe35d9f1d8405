using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>Time that moves only when the test says so.</summary>
public sealed class ManualClock : IClock
{
    public const long StartWall = 1_700_000_000_000;
    public const long StartMonotonic = 1_000_000;

    public long WallMillis { get; set; } = StartWall;
    public long MonotonicMillis { get; set; } = StartMonotonic;

    public void Advance(long ms)
    {
        WallMillis += ms;
        MonotonicMillis += ms;
    }
}

/// <summary>
/// A log that never syncs by itself: it records what the core appends and what it asks to flush, and
/// the test delivers <see cref="LogSyncedMessage"/> explicitly, so it can look at the core before durability.
/// </summary>
public sealed class ManualLog : ITxnLog
{
    private readonly List<(TxnHeader Header, Txn Txn)> _entries = [];

    /// <summary>The core subscribes (to post syncs into its own channel); the test syncs by hand, so this is never raised.</summary>
    public event Action<long>? Synced
    {
        add => Subscribers++;
        remove => Subscribers--;
    }

    public int Subscribers { get; private set; }

    public IReadOnlyList<(TxnHeader Header, Txn Txn)> Entries => _entries;

    public long LastAppended => _entries.Count == 0 ? 0 : _entries[^1].Header.Zxid;

    /// <summary>The highest zxid covered by a flush request (a group commit would make it durable).</summary>
    public long LastFlushed { get; private set; }

    public int Flushes { get; private set; }

    public void Append(in TxnHeader header, Txn txn, ReadOnlySpan<byte> body = default)
    {
        if (header.Zxid <= LastAppended)
        {
            throw new InvalidOperationException($"zxid {header.Zxid} appended after {LastAppended}");
        }

        _entries.Add((header, txn));
    }

    public void Flush()
    {
        Flushes++;
        LastFlushed = LastAppended;
    }

    public void Dispose()
    {
    }
}

/// <summary>Everything a <see cref="FakeConnection"/> was asked to do, in order.</summary>
public abstract record Sent;

public sealed record Handshake(ConnectResponse Response) : Sent;

public sealed record Reply(ReplyHeader Header, Response? Body) : Sent
{
    public int Xid => Header.Xid;
    public long Zxid => Header.Zxid;
    public ErrorCode Err => Header.Err;
}

public sealed record Notification(EventType Type, string Path) : Sent;

public sealed record Closed(string Reason) : Sent;

/// <summary>
/// A client connection without a socket. Like the real one it drops watch events on nodes the
/// session may not READ and writes nothing once closed; unlike it, it keeps everything in order.
/// </summary>
public sealed class FakeConnection(string address = "127.0.0.1") : IClientConnection
{
    private static long s_ids;

    public long ConnectionId { get; } = Interlocked.Increment(ref s_ids);
    public string RemoteAddress { get; } = address;
    public long SessionId { get; set; }
    public IReadOnlyList<Id> AuthInfo { get; set; } = [new Id(AuthProviders.Ip, address)];
    public ConnectionStats Stats { get; } = new();
    public bool IsClosed { get; private set; }
    public int Flushes { get; private set; }

    /// <summary>Sends attempted after close (the real connection drops them).</summary>
    public int SendsAfterClose { get; private set; }

    /// <summary>Events dropped because the session may not read the node.</summary>
    public List<Notification> Filtered { get; } = [];

    public List<Sent> Log { get; } = [];

    public IEnumerable<Reply> Replies => Log.OfType<Reply>();
    public IEnumerable<Notification> Events => Log.OfType<Notification>();
    public IEnumerable<Handshake> Handshakes => Log.OfType<Handshake>();
    public ConnectResponse? Handshake => Handshakes.LastOrDefault()?.Response;
    public int CloseCount => Log.OfType<Closed>().Count();

    public Reply ReplyTo(int xid) => Assert.Single(Replies, r => r.Xid == xid);

    public bool HasReplyTo(int xid) => Replies.Any(r => r.Xid == xid);

    public void SendConnectResponse(ConnectResponse response) => Record(new Handshake(response));

    public int SendReply(in ReplyHeader header, Response? body)
    {
        Record(new Reply(header, Detach(body)));
        return 16;
    }

    // Copied as a real connection writes it at once: getChildren's body is a live view of the tree.
    private static Response? Detach(Response? body) => body switch
    {
        GetChildrenResponse children => children with { Children = [.. children.Children] },
        MultiResponse multi => new MultiResponse([.. multi.Results.Select(r => r with { Body = Detach(r.Body)! })]),
        _ => body,
    };

    public void Process(EventType type, string path, IReadOnlyList<Acl>? nodeAcl)
    {
        if (IsClosed)
        {
            return;
        }

        if (nodeAcl is not null && !AclChecker.IsAllowed(nodeAcl, Perms.Read, AuthInfo))
        {
            Filtered.Add(new Notification(type, path));
            return;
        }

        Log.Add(new Notification(type, path));
    }

    public void Close(string reason)
    {
        Log.Add(new Closed(reason));
        IsClosed = true;
    }

    public void Flush(bool sendHere) => Flushes++;

    private void Record(Sent sent)
    {
        if (IsClosed)
        {
            SendsAfterClose++;
            return;
        }

        Log.Add(sent);
    }
}

/// <summary>A <see cref="ServerCore"/> with a manual clock and log, driven one message at a time.</summary>
public sealed class CoreHarness
{
    public static readonly CoreOptions DefaultOptions = new()
    {
        TickTimeMs = 2000,
        MinSessionTimeoutMs = 4000,
        MaxSessionTimeoutMs = 40000,
        ExtendedTypesEnabled = true,
        ContainerCheckIntervalMs = 60000,
    };

    private int _xid;

    public CoreHarness(CoreOptions? options = null)
    {
        Core = new ServerCore(options ?? DefaultOptions, Clock, Log, NullLogger.Instance);
    }

    public ManualClock Clock { get; } = new();
    public ManualLog Log { get; } = new();
    public ServerCore Core { get; }

    public long LastZxid => Core.Tree.LastProcessedZxid;

    /// <summary>Delivers "everything flushed so far is durable" and ends the batch.</summary>
    public void Sync()
    {
        Core.Handle(new LogSyncedMessage(Log.LastFlushed));
        Core.EndBatch();
    }

    /// <summary>Delivers "durable up to <paramref name="zxid"/>" only.</summary>
    public void SyncUpTo(long zxid)
    {
        Core.Handle(new LogSyncedMessage(zxid));
        Core.EndBatch();
    }

    public void Tick()
    {
        Core.Handle(TickMessage.Instance);
        Core.EndBatch();
    }

    /// <summary>Moves time forward, ticks and syncs whatever the tick logged.</summary>
    public void AdvanceAndTick(long ms)
    {
        Clock.Advance(ms);
        Tick();
        Sync();
    }

    /// <summary>Sends the connect request without syncing.</summary>
    public FakeConnection BeginConnect(int timeout = 30000, long sessionId = 0, byte[]? password = null, long lastZxid = 0, string address = "127.0.0.1")
    {
        var connection = new FakeConnection(address);
        Core.Handle(new ConnectMessage(connection, new ConnectRequest(0, lastZxid, timeout, sessionId, password ?? new byte[16], false)));
        Core.EndBatch();
        return connection;
    }

    public FakeConnection Connect(int timeout = 30000, long sessionId = 0, byte[]? password = null, long lastZxid = 0, string address = "127.0.0.1")
    {
        var connection = BeginConnect(timeout, sessionId, password, lastZxid, address);
        Sync();
        return connection;
    }

    /// <summary>Hands one request to the core (no sync); returns its xid.</summary>
    public int Send(
        FakeConnection connection,
        OpCode op,
        PathRequest? body = null,
        List<MultiOp>? ops = null,
        SetWatchesRequest? setWatches = null,
        AuthPacket? auth = null,
        int? xid = null)
    {
        var id = xid ?? ++_xid;
        Core.Handle(new RequestMessage(new ClientRequest
        {
            Connection = connection,
            Xid = id,
            Type = op,
            Body = body,
            MultiOps = ops,
            SetWatches = setWatches,
            Auth = auth,
            ReceivedMonotonicMillis = Clock.MonotonicMillis,
        }));
        Core.EndBatch();
        return id;
    }

    /// <summary>Sends one request, syncs, and returns its reply.</summary>
    public Reply Call(
        FakeConnection connection,
        OpCode op,
        PathRequest? body = null,
        List<MultiOp>? ops = null,
        SetWatchesRequest? setWatches = null,
        AuthPacket? auth = null,
        int? xid = null)
    {
        var before = connection.Log.Count;
        var id = Send(connection, op, body, ops, setWatches, auth, xid);
        Sync();

        // Reserved xids (auth, ping, setWatches) repeat: look only at what this call produced.
        return Assert.Single(connection.Log.Skip(before).OfType<Reply>(), r => r.Xid == id);
    }

    public Reply AddAuth(FakeConnection connection, string userAndPassword, string scheme = AuthProviders.Digest) =>
        Call(connection, OpCode.Auth, auth: new AuthPacket(0, scheme, Encoding.UTF8.GetBytes(userAndPassword)), xid: Xids.Auth);

    public Reply Create(FakeConnection connection, string path, string data = "", CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null, OpCode op = OpCode.Create2) =>
        Call(connection, op, Req.Create(path, data, mode, acl));

    /// <summary>Creates and asserts success; returns the path the server chose.</summary>
    public string MustCreate(FakeConnection connection, string path, string data = "", CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null)
    {
        var reply = Create(connection, path, data, mode, acl);
        Assert.Equal(ErrorCode.Ok, reply.Err);
        return ((CreateResponse)reply.Body!).Path;
    }

    public Stat StatOf(string path)
    {
        var node = Core.Tree.GetNode(path);
        Assert.NotNull(node);
        return node.ToStat();
    }
}

/// <summary>Request bodies, briefly.</summary>
public static class Req
{
    public static List<Acl> Open => [.. Acl.OpenAclUnsafe];

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    public static CreateRequest Create(string path, string data = "", CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null, long ttl = 0) =>
        new(path, Bytes(data), [.. acl ?? Open], (int)mode, ttl);

    public static CreateRequest CreateFlags(string path, int flags, long ttl = 0) => new(path, [], Open, flags, ttl);

    public static PathWatchRequest Watch(string path, bool watch = false) => new(path, watch);

    public static PathVersionRequest Delete(string path, int version = -1) => new(path, version);

    public static PathVersionRequest Check(string path, int version) => new(path, version);

    public static SetDataRequest SetData(string path, string data, int version = -1) => new(path, Bytes(data), version);

    public static SetAclRequest SetAcl(string path, IReadOnlyList<Acl> acl, int version = -1) => new(path, [.. acl], version);

    public static PathOnlyRequest Path(string path) => new(path);

    public static PathIntRequest AddWatch(string path, AddWatchMode mode) => new(path, (int)mode);

    public static PathIntRequest Watches(string path, WatcherType type) => new(path, (int)type);

    public static Acl DigestAcl(string userAndPassword, Perms perms = Perms.All) =>
        new(perms, new Id(AuthProviders.Digest, AuthProviders.DigestOf(userAndPassword)));

    public static Acl World(Perms perms) => new(perms, Id.Anyone);

    public static Acl Ip(string expression, Perms perms = Perms.All) => new(perms, new Id(AuthProviders.Ip, expression));

    public static string Text(Response? body) => Encoding.UTF8.GetString(((GetDataResponse)body!).Data ?? []);
}
