using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Protocol.Records;

/// <summary>An identity: scheme ("world", "auth", "digest", "ip", "super", ...) and id.</summary>
public sealed record Id(string Scheme, string Ident)
{
    public static readonly Id Anyone = new("world", "anyone");

    public static Id Read(ref JuteReader r) => new(r.ReadRequiredString(), r.ReadRequiredString());

    public void Write(JuteWriter w)
    {
        w.WriteString(Scheme);
        w.WriteString(Ident);
    }

    public override string ToString() => $"{Scheme}:{Ident}";
}

/// <summary>One access-control entry.</summary>
public sealed record Acl(Perms Perms, Id Id)
{
    public static readonly IReadOnlyList<Acl> OpenAclUnsafe = [new(Perms.All, Id.Anyone)];

    public static Acl Read(ref JuteReader r) => new((Perms)r.ReadInt(), Id.Read(ref r));

    public void Write(JuteWriter w)
    {
        w.WriteInt((int)Perms);
        Id.Write(w);
    }

    public static List<Acl>? ReadList(ref JuteReader r)
    {
        var count = r.ReadVectorLength(12);
        if (count < 0)
        {
            return null;
        }

        var list = new List<Acl>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(Read(ref r));
        }

        return list;
    }

    public static void WriteList(JuteWriter w, IReadOnlyList<Acl>? acls)
    {
        if (acls is null)
        {
            w.WriteInt(-1);
            return;
        }

        w.WriteInt(acls.Count);
        for (var i = 0; i < acls.Count; i++)
        {
            acls[i].Write(w);
        }
    }
}

/// <summary>The Stat structure returned to clients.</summary>
public readonly record struct Stat(
    long Czxid,
    long Mzxid,
    long Ctime,
    long Mtime,
    int Version,
    int Cversion,
    int Aversion,
    long EphemeralOwner,
    int DataLength,
    int NumChildren,
    long Pzxid)
{
    public const int WireSize = 68;

    public static Stat Read(ref JuteReader r) => new(
        r.ReadLong(), r.ReadLong(), r.ReadLong(), r.ReadLong(),
        r.ReadInt(), r.ReadInt(), r.ReadInt(), r.ReadLong(),
        r.ReadInt(), r.ReadInt(), r.ReadLong());

    public void Write(JuteWriter w)
    {
        w.WriteLong(Czxid);
        w.WriteLong(Mzxid);
        w.WriteLong(Ctime);
        w.WriteLong(Mtime);
        w.WriteInt(Version);
        w.WriteInt(Cversion);
        w.WriteInt(Aversion);
        w.WriteLong(EphemeralOwner);
        w.WriteInt(DataLength);
        w.WriteInt(NumChildren);
        w.WriteLong(Pzxid);
    }
}

/// <summary>One entry of a whoAmI reply.</summary>
public sealed record ClientInfo(string AuthScheme, string User)
{
    public static ClientInfo Read(ref JuteReader r) => new(r.ReadRequiredString(), r.ReadRequiredString());

    public void Write(JuteWriter w)
    {
        w.WriteString(AuthScheme);
        w.WriteString(User);
    }
}
