using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Protocol.Records;

/// <summary>The header of every logged transaction.</summary>
public readonly record struct TxnHeader(long ClientId, int Cxid, long Zxid, long Time, OpCode Type)
{
    public static TxnHeader Read(ref JuteReader r) => new(r.ReadLong(), r.ReadInt(), r.ReadLong(), r.ReadLong(), (OpCode)r.ReadInt());

    public void Write(JuteWriter w)
    {
        w.WriteLong(ClientId);
        w.WriteInt(Cxid);
        w.WriteLong(Zxid);
        w.WriteLong(Time);
        w.WriteInt((int)Type);
    }
}

/// <summary>
/// A deterministic state change: what the prepare stage decided, replayed identically by every
/// replica and on recovery. The opcode lives in the <see cref="TxnHeader"/>.
/// </summary>
public abstract record Txn
{
    public abstract void Write(JuteWriter w);
}

/// <summary>create / create2 (CreateTxn), createTTL (CreateTTLTxn) and createContainer (CreateContainerTxn).</summary>
public sealed record CreateTxn(string Path, byte[]? Data, IReadOnlyList<Acl> Acl, bool Ephemeral, int ParentCVersion, long Ttl = 0) : Txn
{
    public override void Write(JuteWriter w) => throw new InvalidOperationException("use Write(w, type)");

    public void Write(JuteWriter w, OpCode type)
    {
        w.WriteString(Path);
        w.WriteBuffer(Data);
        Records.Acl.WriteList(w, Acl);
        if (type is OpCode.Create or OpCode.Create2)
        {
            w.WriteBool(Ephemeral);
        }

        w.WriteInt(ParentCVersion);
        if (type == OpCode.CreateTtl)
        {
            w.WriteLong(Ttl);
        }
    }

    public static CreateTxn Read(ref JuteReader r, OpCode type)
    {
        var path = r.ReadRequiredString();
        var data = r.ReadBuffer();
        var acl = Records.Acl.ReadList(ref r) ?? [];
        var ephemeral = type is OpCode.Create or OpCode.Create2 && r.ReadBool();

        // CreateTxnV0 (pre-3.3 logs) has no parentCVersion.
        var parentCVersion = r.AtEnd ? -1 : r.ReadInt();
        var ttl = type == OpCode.CreateTtl ? r.ReadLong() : 0;
        return new CreateTxn(path, data, acl, ephemeral, parentCVersion, ttl);
    }
}

/// <summary>delete and deleteContainer.</summary>
public sealed record DeleteTxn(string Path) : Txn
{
    public override void Write(JuteWriter w) => w.WriteString(Path);
}

public sealed record SetDataTxn(string Path, byte[]? Data, int Version) : Txn
{
    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        w.WriteBuffer(Data);
        w.WriteInt(Version);
    }
}

public sealed record CheckVersionTxn(string Path, int Version) : Txn
{
    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        w.WriteInt(Version);
    }
}

public sealed record SetAclTxn(string Path, IReadOnlyList<Acl> Acl, int Version) : Txn
{
    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        Records.Acl.WriteList(w, Acl);
        w.WriteInt(Version);
    }
}

public sealed record CreateSessionTxn(int Timeout) : Txn
{
    public override void Write(JuteWriter w) => w.WriteInt(Timeout);
}

/// <summary>closeSession: the ephemerals to delete, as the prepare stage saw them.</summary>
public sealed record CloseSessionTxn(IReadOnlyList<string> PathsToDelete) : Txn
{
    public override void Write(JuteWriter w) => w.WriteStringVector(PathsToDelete as IReadOnlyCollection<string>);
}

public sealed record ErrorTxn(ErrorCode Err) : Txn
{
    public override void Write(JuteWriter w) => w.WriteInt((int)Err);
}

/// <summary>A sub-transaction of a multi: its own opcode and body.</summary>
public readonly record struct SubTxn(OpCode Type, Txn Body);

public sealed record MultiTxn(IReadOnlyList<SubTxn> Txns) : Txn
{
    public override void Write(JuteWriter w)
    {
        w.WriteInt(Txns.Count);
        using var inner = new JuteWriter();
        foreach (var sub in Txns)
        {
            inner.Reset();
            TxnCodec.WriteBody(inner, sub.Type, sub.Body);
            w.WriteInt((int)sub.Type);
            w.WriteBuffer(inner.WrittenSpan);
        }
    }
}

/// <summary>Encodes and decodes transaction bodies by opcode.</summary>
public static class TxnCodec
{
    public static void WriteBody(JuteWriter w, OpCode type, Txn txn)
    {
        if (txn is CreateTxn create)
        {
            create.Write(w, type);
        }
        else
        {
            txn.Write(w);
        }
    }

    /// <summary>Reads a body; returns null for a txn type with no body we model (e.g. a createSession from a V0 log).</summary>
    public static Txn ReadBody(ref JuteReader r, OpCode type) => type switch
    {
        OpCode.Create or OpCode.Create2 or OpCode.CreateTtl or OpCode.CreateContainer => CreateTxn.Read(ref r, type),
        OpCode.Delete or OpCode.DeleteContainer => new DeleteTxn(r.ReadRequiredString()),
        // A reconfig's txn sets /zookeeper/config to the new membership, as Apache logs it.
        OpCode.SetData or OpCode.Reconfig => new SetDataTxn(r.ReadRequiredString(), r.ReadBuffer(), r.ReadInt()),
        OpCode.Check => new CheckVersionTxn(r.ReadRequiredString(), r.ReadInt()),
        OpCode.SetAcl => new SetAclTxn(r.ReadRequiredString(), ReadAcl(ref r), r.ReadInt()),
        OpCode.CreateSession => new CreateSessionTxn(r.ReadInt()),
        OpCode.CloseSession => new CloseSessionTxn(r.AtEnd ? [] : r.ReadStringVector() ?? []),
        OpCode.Error => new ErrorTxn((ErrorCode)r.ReadInt()),
        OpCode.Multi => ReadMulti(ref r),
        _ => throw new JuteException($"unknown txn type {(int)type}"),
    };

    private static List<Acl> ReadAcl(ref JuteReader r) => Acl.ReadList(ref r) ?? [];

    private static MultiTxn ReadMulti(ref JuteReader r)
    {
        var count = r.ReadVectorLength(8);
        var list = new List<SubTxn>(Math.Max(0, count));
        for (var i = 0; i < count; i++)
        {
            var type = (OpCode)r.ReadInt();
            var body = r.ReadBufferSpan(out _);
            var inner = new JuteReader(body);
            list.Add(new SubTxn(type, ReadBody(ref inner, type)));
        }

        return new MultiTxn(list);
    }
}
