using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Protocol.Records;

/// <summary>A reply body. The server writes it after the reply header; the client reads it by opcode.</summary>
public abstract record Response
{
    public abstract void Write(JuteWriter w);
}

/// <summary>A reply with no body (delete, check, ping, setWatches, addWatch, removeWatches, checkWatches, auth, closeSession).</summary>
public sealed record EmptyResponse : Response
{
    public static readonly EmptyResponse Instance = new();

    public override void Write(JuteWriter w)
    {
    }
}

/// <summary>create (path only) and create2 / createTTL / createContainer (path and stat).</summary>
public sealed record CreateResponse(string Path, Stat? Stat) : Response
{
    public override void Write(JuteWriter w)
    {
        w.WriteString(Path);
        Stat?.Write(w);
    }
}

/// <summary>exists, setData, setACL: a stat.</summary>
public sealed record StatResponse(Stat Stat) : Response
{
    public override void Write(JuteWriter w) => Stat.Write(w);
}

public sealed record GetDataResponse(byte[]? Data, Stat Stat) : Response
{
    public override void Write(JuteWriter w)
    {
        w.WriteBuffer(Data);
        Stat.Write(w);
    }
}

/// <summary>getChildren (children only) and getChildren2 (children and stat).</summary>
public sealed record GetChildrenResponse(IReadOnlyCollection<string> Children, Stat? Stat) : Response
{
    public override void Write(JuteWriter w)
    {
        w.WriteStringVector(Children);
        Stat?.Write(w);
    }
}

public sealed record GetAclResponse(IReadOnlyList<Acl> Acl, Stat Stat) : Response
{
    public override void Write(JuteWriter w)
    {
        Records.Acl.WriteList(w, Acl);
        Stat.Write(w);
    }
}

/// <summary>sync: echoes the path.</summary>
public sealed record PathResponse(string Path) : Response
{
    public override void Write(JuteWriter w) => w.WriteString(Path);
}

/// <summary>getAllChildrenNumber.</summary>
public sealed record IntResponse(int Value) : Response
{
    public override void Write(JuteWriter w) => w.WriteInt(Value);
}

/// <summary>getEphemerals.</summary>
public sealed record StringListResponse(IReadOnlyCollection<string> Values) : Response
{
    public override void Write(JuteWriter w) => w.WriteStringVector(Values);
}

public sealed record WhoAmIResponse(IReadOnlyList<ClientInfo> Clients) : Response
{
    public override void Write(JuteWriter w)
    {
        w.WriteInt(Clients.Count);
        foreach (var client in Clients)
        {
            client.Write(w);
        }
    }
}

/// <summary>SetSASLResponse: the server's next SASL token (null after a failure).</summary>
public sealed record SaslResponse(byte[]? Token) : Response
{
    public override void Write(JuteWriter w) => w.WriteBuffer(Token);
}

/// <summary>One result of a multi: the opcode of the result record (Error = -1 for failures) and its body.</summary>
public readonly record struct MultiResult(OpCode Type, ErrorCode Err, Response Body)
{
    public static MultiResult Error(ErrorCode err) => new(OpCode.Error, err, new IntResponse((int)err));
}

public sealed record MultiResponse(IReadOnlyList<MultiResult> Results) : Response
{
    public override void Write(JuteWriter w)
    {
        foreach (var result in Results)
        {
            w.WriteInt((int)result.Type);
            w.WriteBool(false);
            w.WriteInt(result.Type == OpCode.Error ? (int)result.Err : 0);
            result.Body.Write(w);
        }

        w.WriteInt(-1);
        w.WriteBool(true);
        w.WriteInt(-1);
    }

    public static MultiResponse Read(ref JuteReader r)
    {
        var results = new List<MultiResult>();
        while (true)
        {
            var type = (OpCode)r.ReadInt();
            var done = r.ReadBool();
            var err = (ErrorCode)r.ReadInt();
            if (done)
            {
                return new MultiResponse(results);
            }

            Response body = type switch
            {
                OpCode.Create => new CreateResponse(r.ReadRequiredString(), null),
                OpCode.Create2 => new CreateResponse(r.ReadRequiredString(), Stat.Read(ref r)),
                OpCode.Delete or OpCode.Check => EmptyResponse.Instance,
                OpCode.SetData => new StatResponse(Stat.Read(ref r)),
                OpCode.GetChildren => new GetChildrenResponse(r.ReadStringVector() ?? [], null),
                OpCode.GetData => new GetDataResponse(r.ReadBuffer(), Stat.Read(ref r)),
                OpCode.Error => new IntResponse(r.ReadInt()),
                _ => throw new JuteException($"invalid result type {(int)type} in a multi response"),
            };
            results.Add(new MultiResult(type, type == OpCode.Error ? (ErrorCode)((IntResponse)body).Value : err, body));
        }
    }
}

/// <summary>Decodes reply bodies by the opcode of the request they answer.</summary>
public static class ResponseCodec
{
    public static Response Read(OpCode type, ref JuteReader r) => Operations.Find(type)?.Reply switch
    {
        ReplyBody.CreatePath => new CreateResponse(r.ReadRequiredString(), null),
        ReplyBody.CreateStat => new CreateResponse(r.ReadRequiredString(), Stat.Read(ref r)),
        ReplyBody.Stat => new StatResponse(Stat.Read(ref r)),
        ReplyBody.GetData => new GetDataResponse(r.ReadBuffer(), Stat.Read(ref r)),
        ReplyBody.Children => new GetChildrenResponse(r.ReadStringVector() ?? [], null),
        ReplyBody.Children2 => new GetChildrenResponse(r.ReadStringVector() ?? [], Stat.Read(ref r)),
        ReplyBody.Acl => new GetAclResponse(Acl.ReadList(ref r) ?? [], Stat.Read(ref r)),
        ReplyBody.Path => new PathResponse(r.ReadRequiredString()),
        ReplyBody.Int => new IntResponse(r.ReadInt()),
        ReplyBody.StringList => new StringListResponse(r.ReadStringVector() ?? []),
        ReplyBody.WhoAmI => ReadWhoAmI(ref r),
        ReplyBody.Sasl => new SaslResponse(r.ReadBuffer()),
        ReplyBody.Multi => MultiResponse.Read(ref r),
        _ => EmptyResponse.Instance,
    };

    private static WhoAmIResponse ReadWhoAmI(ref JuteReader r)
    {
        var count = r.ReadVectorLength(8);
        var list = new List<ClientInfo>(Math.Max(0, count));
        for (var i = 0; i < count; i++)
        {
            list.Add(ClientInfo.Read(ref r));
        }

        return new WhoAmIResponse(list);
    }
}
