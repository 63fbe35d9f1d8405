using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Data;

/// <summary>
/// One znode. Kept compact: the stat fields inline, the ACL list shared by reference with every
/// node that has the same ACL, and no child dictionary until the first child arrives.
/// </summary>
public sealed class DataNode(byte[]? data, IReadOnlyList<Acl> acl)
{
    private Dictionary<string, DataNode>? _children;

    public byte[]? Data { get; set; } = data;
    public IReadOnlyList<Acl> Acl { get; set; } = acl;
    public long Czxid { get; set; }
    public long Mzxid { get; set; }
    public long Ctime { get; set; }
    public long Mtime { get; set; }
    public long Pzxid { get; set; }
    public long EphemeralOwner { get; set; }
    public int Version { get; set; }
    public int Cversion { get; set; }
    public int Aversion { get; set; }

    public int ChildCount => _children?.Count ?? 0;

    /// <summary>
    /// The children's names without a copy: a live view, for a reply serialized before the tree next
    /// changes (a wide node's getChildren would otherwise copy every name reference per request).
    /// </summary>
    public IReadOnlyCollection<string> ChildNames => _children?.Keys ?? (IReadOnlyCollection<string>)[];

    public IEnumerable<KeyValuePair<string, DataNode>> Children =>
        _children ?? Enumerable.Empty<KeyValuePair<string, DataNode>>();

    /// <summary>Copies the children into <paramref name="destination"/> (at least <see cref="ChildCount"/> long).</summary>
    public void CopyChildrenTo(KeyValuePair<string, DataNode>[] destination) =>
        ((ICollection<KeyValuePair<string, DataNode>>?)_children)?.CopyTo(destination, 0);

    public DataNode? GetChild(ReadOnlySpan<char> name) =>
        _children is not null && _children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var child) ? child : null;

    public void AddChild(string name, DataNode child) => (_children ??= new Dictionary<string, DataNode>(StringComparer.Ordinal))[name] = child;

    public bool RemoveChild(string name)
    {
        if (_children is null || !_children.Remove(name))
        {
            return false;
        }

        if (_children.Count == 0)
        {
            _children = null;
        }

        return true;
    }

    public void ClearChildren() => _children = null;

    public void CopyFrom(DataNode other)
    {
        Data = other.Data;
        Acl = other.Acl;
        Czxid = other.Czxid;
        Mzxid = other.Mzxid;
        Ctime = other.Ctime;
        Mtime = other.Mtime;
        Pzxid = other.Pzxid;
        EphemeralOwner = other.EphemeralOwner;
        Version = other.Version;
        Cversion = other.Cversion;
        Aversion = other.Aversion;
    }


    /// <summary>
    /// The Stat a client sees. As in ZooKeeper, the stored cversion counts child creations, and the
    /// client sees every create and delete (2 * creates - children still present); container and
    /// TTL markers are not shown as an ephemeral owner.
    /// </summary>
    public Stat ToStat()
    {
        var children = ChildCount;
        var owner = EphemeralType.IsContainer(EphemeralOwner) || EphemeralType.IsTtl(EphemeralOwner) ? 0 : EphemeralOwner;
        return new Stat(Czxid, Mzxid, Ctime, Mtime, Version, (Cversion * 2) - children, Aversion, owner, Data?.Length ?? 0, children, Pzxid);
    }
}
