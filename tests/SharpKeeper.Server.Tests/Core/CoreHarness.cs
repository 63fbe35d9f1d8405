using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

public sealed class ManualClock : IClock
{
    public long WallMillis { get; set; } = 1_700_000_000_000;
    public long MonotonicMillis { get; set; } = 1_000_000;

    public void Advance(long ms)
    {
        WallMillis += ms;
        MonotonicMillis += ms;
    }
}

/// <summary>A log that syncs only when the test says so, so it can see what happens before durability.</summary>
public sealed class ManualLog : ITxnLog
{
    public event Action<long>? Synced;

    public long LastAppended { get; private set; }
    public int Appends { get; private set; }

    public void Append(in TxnHeader header, Txn txn)
    {
        LastAppended = header.Zxid;
        Appends++;
    }

    public void Flush()
    {
    }

    public void Sync() => Synced?.Invoke(LastAppended);

    public void Dispose()
    {
    }
}

/// <summary>Records everything the core sends, in order.</summary>
public sealed class FakeConnection(string address = "127.0.0.1") : IClientConnection
{
    private static long s_ids;

    public long ConnectionId { get; } = Interlocked.Increment(ref s_ids);
    public string RemoteAddress { get; } = address;
    public long SessionId { get; set; }
    public IReadOnlyList<Id> AuthInfo { get; set; } = [new Id(AuthProviders.Ip, address)];
    public ConnectionStats Stats { get; } = new();
    public bool IsClosed { get; private set; }
    public List<object> Sent { get; } = [];
    public string? CloseReason { get; private set; }

    public IEnumerable<(ReplyHeader Header, Response? Body)> Replies => Sent.OfType<(ReplyHeader, Response?)>();
    public IEnumerable<(EventType Type, string Path)> Events => Sent.OfType<(EventType, string)>();
    public ConnectResponse? Handshake => Sent.OfType<ConnectResponse>().LastOrDefault();

    public void SendConnectResponse(ConnectResponse response) => Sent.Add(response);

    public void SendReply(in ReplyHeader header, Response? body) => Sent.Add((header, body));

    public void Process(EventType type, string path, IReadOnlyList<Acl>? nodeAcl)
    {
        if (!IsClosed && (nodeAcl is null || AclChecker.IsAllowed(nodeAcl, Perms.Read, AuthInfo)))
        {
            Sent.Add((type, path));
        }
    }

    public void Close(string reason)
    {
        IsClosed = true;
        CloseReason ??= reason;
    }

    public void Flush()
    {
    }
}

/// <summary>A core with a manual clock and log, driven message by message.</summary>
public sealed class CoreHarness
{
    private int _xid;

    public CoreHarness(CoreOptions? options = null)
    {
        Core = new ServerCore(options ?? new CoreOptions { TickTimeMs = 2000, MinSessionTimeoutMs = 4000, MaxSessionTimeoutMs = 40000, ExtendedTypesEnabled = true }, Clock, Log, NullLogger.Instance);
    }

    public ManualClock Clock { get; } = new();
    public ManualLog Log { get; } = new();
    public ServerCore Core { get; }

    public static List<Acl> Open => [.. Acl.OpenAclUnsafe];

    /// <summary>Delivers the core's own queued messages (log syncs it posted to itself are not used: syncs are explicit).</summary>
    public void Sync()
    {
        Log.Sync();
        Core.Handle(new LogSyncedMessage(Log.LastAppended));
        Core.EndBatch();
    }

    public FakeConnection Connect(int timeout = 30000, long sessionId = 0, byte[]? password = null, long lastZxid = 0)
    {
        var connection = new FakeConnection();
        Core.Handle(new ConnectMessage(connection, new ConnectRequest(0, lastZxid, timeout, sessionId, password ?? new byte[16], false)));
        Sync();
        return connection;
    }

    public void Send(FakeConnection connection, OpCode op, PathRequest? body = null, List<MultiOp>? ops = null)
    {
        Core.Handle(new RequestMessage(new ClientRequest { Connection = connection, Xid = ++_xid, Type = op, Body = body, MultiOps = ops }));
        Core.EndBatch();
    }

    public (ReplyHeader Header, Response? Body) Call(FakeConnection connection, OpCode op, PathRequest? body = null, List<MultiOp>? ops = null)
    {
        Send(connection, op, body, ops);
        Sync();
        return connection.Replies.Last();
    }
}
