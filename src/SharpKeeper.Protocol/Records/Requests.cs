using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Protocol.Records;

/// <summary>A client request body that names a path. Each subtype is one jute record layout.</summary>
public abstract record PathRequest(string Path)
{
    public abstract void Write(JuteWriter w);
}

/// <summary>create, create2, createContainer (CreateRequest layout) and createTTL (with the ttl field).</summary>
public sealed record CreateRequest(string Path, byte[]? Data, List<Acl> Acl, int Flags, long Ttl = 0) : PathRequest(Path)
{
    public static CreateRequest Read(ref JuteReader r, bool withTtl)
    {
        var path = r.ReadRequiredString();
        var data = r.ReadBuffer();
        var acl = Records.Acl.ReadList(ref r) ?? [];
        var flags = r.ReadInt();
        var ttl = withTtl ? r.ReadLong() : 0;
        return new CreateRequest(path, data, acl, flags, ttl);
    }

    public override void Write(JuteWriter w) => Write(w, withTtl: false);

    public void Write(JuteWriter w, bool withTtl)
    {
        w.WriteString(Path);
        w.WriteBuffer(Data);
        Records.Acl.WriteList(w, Acl);
        w.WriteInt(Flags);
        if (withTtl)
        {
            w.WriteLong(Ttl);
        }
    }
}

/// <summary>delete (DeleteRequest) and check (CheckVersionRequest): path and version.</summary>
public sealed record PathVersionRequest(string Path, int Version) : PathRequest(Path)
{
    public static PathVersionRequest Read(ref JuteReader r) => new(r.ReadRequiredString(), r.ReadInt());

    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        w.WriteInt(Version);
    }
}

/// <summary>exists, getData, getChildren, getChildren2: path and watch flag.</summary>
public sealed record PathWatchRequest(string Path, bool Watch) : PathRequest(Path)
{
    public static PathWatchRequest Read(ref JuteReader r) => new(r.ReadRequiredString(), r.ReadBool());

    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        w.WriteBool(Watch);
    }
}

/// <summary>getACL, sync, getAllChildrenNumber, getEphemerals (prefix): just a path.</summary>
public sealed record PathOnlyRequest(string Path) : PathRequest(Path)
{
    public static PathOnlyRequest Read(ref JuteReader r) => new(r.ReadRequiredString());

    public override void Write(JuteWriter w) => w.WriteString(Path);
}

public sealed record SetDataRequest(string Path, byte[]? Data, int Version) : PathRequest(Path)
{
    public static SetDataRequest Read(ref JuteReader r) => new(r.ReadRequiredString(), r.ReadBuffer(), r.ReadInt());

    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        w.WriteBuffer(Data);
        w.WriteInt(Version);
    }
}

public sealed record SetAclRequest(string Path, List<Acl> Acl, int Version) : PathRequest(Path)
{
    public static SetAclRequest Read(ref JuteReader r)
    {
        var path = r.ReadRequiredString();
        var acl = Records.Acl.ReadList(ref r) ?? [];
        return new SetAclRequest(path, acl, r.ReadInt());
    }

    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        Records.Acl.WriteList(w, Acl);
        w.WriteInt(Version);
    }
}

/// <summary>checkWatches / removeWatches (type is a <see cref="WatcherType"/>) and addWatch (mode is an <see cref="AddWatchMode"/>).</summary>
public sealed record PathIntRequest(string Path, int Value) : PathRequest(Path)
{
    public static PathIntRequest Read(ref JuteReader r) => new(r.ReadRequiredString(), r.ReadInt());

    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        w.WriteInt(Value);
    }
}

/// <summary>One operation of a multi or multiRead.</summary>
public readonly record struct MultiOp(OpCode Type, PathRequest Request);

/// <summary>Decodes request bodies by opcode.</summary>
public static class RequestCodec
{
    /// <summary>Reads the body of a path-based request, as <see cref="Operations"/> lays it out. Returns null for opcodes that have no such body.</summary>
    public static PathRequest? ReadPathRequest(OpCode type, ref JuteReader r) => Operations.Find(type)?.Request switch
    {
        RequestBody.Create => CreateRequest.Read(ref r, withTtl: false),
        RequestBody.CreateTtl => CreateRequest.Read(ref r, withTtl: true),
        RequestBody.PathVersion => PathVersionRequest.Read(ref r),
        RequestBody.PathWatch => PathWatchRequest.Read(ref r),
        RequestBody.PathOnly => PathOnlyRequest.Read(ref r),
        RequestBody.SetData => SetDataRequest.Read(ref r),
        RequestBody.SetAcl => SetAclRequest.Read(ref r),
        RequestBody.PathInt => PathIntRequest.Read(ref r),
        _ => null,
    };

    public static void WritePathRequest(JuteWriter w, OpCode type, PathRequest request)
    {
        if (request is CreateRequest create)
        {
            create.Write(w, withTtl: type == OpCode.CreateTtl);
        }
        else
        {
            request.Write(w);
        }
    }

    /// <summary>Reads a MultiOperation: (MultiHeader, op)* terminated by a header with done=true.</summary>
    public static List<MultiOp> ReadMulti(ref JuteReader r)
    {
        var ops = new List<MultiOp>();
        while (true)
        {
            var type = (OpCode)r.ReadInt();
            var done = r.ReadBool();
            r.ReadInt(); // err: unused in requests
            if (done)
            {
                return ops;
            }

            var body = (Operations.Find(type) is { InMulti: true } or { InMultiRead: true } ? ReadPathRequest(type, ref r) : null)
                ?? throw new JuteException($"op type {(int)type} is not allowed in a multi");
            ops.Add(new MultiOp(type, body));
        }
    }

    public static void WriteMulti(JuteWriter w, IEnumerable<MultiOp> ops)
    {
        foreach (var op in ops)
        {
            w.WriteInt((int)op.Type);
            w.WriteBool(false);
            w.WriteInt(-1);
            WritePathRequest(w, op.Type, op.Request);
        }

        w.WriteInt(-1);
        w.WriteBool(true);
        w.WriteInt(-1);
    }
}
