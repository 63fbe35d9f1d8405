using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Protocol.Records;

/// <summary>
/// The first frame a client sends. Clients older than 3.4 (and some current ones, such as
/// ClickHouse's) end it after the password, with no readOnly byte: <see cref="HasReadOnlyFlag"/> is
/// then false, and the server must leave the byte out of its answer too.
/// </summary>
public sealed record ConnectRequest(int ProtocolVersion, long LastZxidSeen, int Timeout, long SessionId, byte[] Password, bool ReadOnly)
{
    public bool HasReadOnlyFlag { get; init; } = true;

    public static ConnectRequest Read(ref JuteReader r)
    {
        var version = r.ReadInt();
        var lastZxid = r.ReadLong();
        var timeout = r.ReadInt();
        var sessionId = r.ReadLong();
        var password = r.ReadBuffer() ?? [];
        var hasFlag = !r.AtEnd;
        var readOnly = hasFlag && r.ReadBool();
        return new ConnectRequest(version, lastZxid, timeout, sessionId, password, readOnly) { HasReadOnlyFlag = hasFlag };
    }

    public void Write(JuteWriter w)
    {
        w.WriteInt(ProtocolVersion);
        w.WriteLong(LastZxidSeen);
        w.WriteInt(Timeout);
        w.WriteLong(SessionId);
        w.WriteBuffer(Password);
        if (HasReadOnlyFlag)
        {
            w.WriteBool(ReadOnly);
        }
    }
}

/// <summary>
/// The server's answer to <see cref="ConnectRequest"/>. A session id of 0 and timeout 0 mean refused.
/// The readOnly byte is sent only to a client whose request carried one (<see cref="HasReadOnlyFlag"/>):
/// old clients reject a reply longer than they expect.
/// </summary>
public sealed record ConnectResponse(int ProtocolVersion, int Timeout, long SessionId, byte[] Password, bool ReadOnly)
{
    public bool HasReadOnlyFlag { get; init; } = true;

    public static ConnectResponse Read(ref JuteReader r)
    {
        var version = r.ReadInt();
        var timeout = r.ReadInt();
        var sessionId = r.ReadLong();
        var password = r.ReadBuffer() ?? [];
        var hasFlag = !r.AtEnd;
        var readOnly = hasFlag && r.ReadBool();
        return new ConnectResponse(version, timeout, sessionId, password, readOnly) { HasReadOnlyFlag = hasFlag };
    }

    public void Write(JuteWriter w)
    {
        w.WriteInt(ProtocolVersion);
        w.WriteInt(Timeout);
        w.WriteLong(SessionId);
        w.WriteBuffer(Password);
        if (HasReadOnlyFlag)
        {
            w.WriteBool(ReadOnly);
        }
    }
}

public readonly record struct RequestHeader(int Xid, OpCode Type)
{
    public static RequestHeader Read(ref JuteReader r) => new(r.ReadInt(), (OpCode)r.ReadInt());

    public void Write(JuteWriter w)
    {
        w.WriteInt(Xid);
        w.WriteInt((int)Type);
    }
}

public readonly record struct ReplyHeader(int Xid, long Zxid, ErrorCode Err)
{
    public static ReplyHeader Read(ref JuteReader r) => new(r.ReadInt(), r.ReadLong(), (ErrorCode)r.ReadInt());

    public void Write(JuteWriter w)
    {
        w.WriteInt(Xid);
        w.WriteLong(Zxid);
        w.WriteInt((int)Err);
    }
}

/// <summary>A watch notification (sent with xid -1).</summary>
public sealed record WatcherEvent(EventType Type, KeeperState State, string Path)
{
    public static WatcherEvent Read(ref JuteReader r) => new((EventType)r.ReadInt(), (KeeperState)r.ReadInt(), r.ReadRequiredString());

    public void Write(JuteWriter w)
    {
        w.WriteInt((int)Type);
        w.WriteInt((int)State);
        w.WriteString(Path);
    }
}

public sealed record AuthPacket(int Type, string Scheme, byte[] Auth)
{
    public static AuthPacket Read(ref JuteReader r) => new(r.ReadInt(), r.ReadRequiredString(), r.ReadBuffer() ?? []);

    public void Write(JuteWriter w)
    {
        w.WriteInt(Type);
        w.WriteString(Scheme);
        w.WriteBuffer(Auth);
    }
}

/// <summary>
/// reconfig (opcode 16): servers to add ("server.N=spec" or "N=spec", comma-separated), ids to
/// remove (comma-separated), or the whole new membership; null strings are absent (incremental
/// when <see cref="NewMembers"/> is null). <see cref="CurConfigId"/> is the version the client
/// expects, -1 for any.
/// </summary>
public sealed record ReconfigRequest(string? JoiningServers, string? LeavingServers, string? NewMembers, long CurConfigId)
{
    public static ReconfigRequest Read(ref JuteReader r) => new(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadLong());

    public void Write(JuteWriter w)
    {
        w.WriteString(JoiningServers);
        w.WriteString(LeavingServers);
        w.WriteString(NewMembers);
        w.WriteLong(CurConfigId);
    }
}

/// <summary>setWatches (opcode 101) and setWatches2 (105, with the persistent lists).</summary>
public sealed record SetWatchesRequest(
    long RelativeZxid,
    List<string> DataWatches,
    List<string> ExistWatches,
    List<string> ChildWatches,
    List<string> PersistentWatches,
    List<string> PersistentRecursiveWatches)
{
    public static SetWatchesRequest Read(ref JuteReader r, bool version2)
    {
        var zxid = r.ReadLong();
        var data = r.ReadStringVector() ?? [];
        var exist = r.ReadStringVector() ?? [];
        var child = r.ReadStringVector() ?? [];
        var persistent = version2 ? r.ReadStringVector() ?? [] : [];
        var recursive = version2 ? r.ReadStringVector() ?? [] : [];
        return new SetWatchesRequest(zxid, data, exist, child, persistent, recursive);
    }

    public void Write(JuteWriter w, bool version2)
    {
        w.WriteLong(RelativeZxid);
        w.WriteStringVector(DataWatches);
        w.WriteStringVector(ExistWatches);
        w.WriteStringVector(ChildWatches);
        if (version2)
        {
            w.WriteStringVector(PersistentWatches);
            w.WriteStringVector(PersistentRecursiveWatches);
        }
    }
}
