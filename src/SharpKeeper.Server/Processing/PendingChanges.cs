using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// A node as prepared-but-not-yet-applied transactions will leave it. The prepare stage validates
/// each request against this view, so pipelined writes see the effects of the writes before them.
/// </summary>
public sealed class ChangeRecord
{
    public required long Zxid { get; init; }
    public required string Path { get; init; }

    /// <summary>False for a node a pending txn deletes.</summary>
    public required bool Exists { get; init; }

    public int Version { get; set; }
    public int Cversion { get; set; }
    public int Aversion { get; set; }
    public long EphemeralOwner { get; set; }
    public int ChildCount { get; set; }
    public IReadOnlyList<Acl> Acl { get; set; } = [];

    public ChangeRecord Duplicate(long zxid) => new()
    {
        Zxid = zxid,
        Path = Path,
        Exists = Exists,
        Version = Version,
        Cversion = Cversion,
        Aversion = Aversion,
        EphemeralOwner = EphemeralOwner,
        ChildCount = ChildCount,
        Acl = Acl,
    };

    public static ChangeRecord FromNode(string path, DataNode node) => new()
    {
        Zxid = node.Mzxid,
        Path = path,
        Exists = true,
        Version = node.Version,
        Cversion = node.Cversion,
        Aversion = node.Aversion,
        EphemeralOwner = node.EphemeralOwner,
        ChildCount = node.ChildCount,
        Acl = node.Acl,
    };
}

/// <summary>The outstanding changes overlaid on the tree, newest per path, dropped as their txns are applied.</summary>
public sealed class PendingChanges(DataTree tree)
{
    private readonly Dictionary<string, ChangeRecord> _latest = new(StringComparer.Ordinal);

    public int Count => _latest.Count;

    public IEnumerable<ChangeRecord> All => _latest.Values;

    /// <summary>The node as pending txns leave it; throws NoNode when it does not (or will not) exist.</summary>
    public ChangeRecord Get(string path)
    {
        if (_latest.TryGetValue(path, out var record))
        {
            return record.Exists ? record : throw new KeeperException(ErrorCode.NoNode, path);
        }

        var node = tree.GetNode(path) ?? throw new KeeperException(ErrorCode.NoNode, path);
        return ChangeRecord.FromNode(path, node);
    }

    public bool Exists(string path) =>
        _latest.TryGetValue(path, out var record) ? record.Exists : tree.GetNode(path) is not null;

    public void Add(ChangeRecord record) => _latest[record.Path] = record;

    /// <summary>Called once the txn with <paramref name="zxid"/> is applied: records it produced are now in the tree.</summary>
    public void Applied(long zxid, List<string> paths)
    {
        foreach (var path in paths)
        {
            if (_latest.TryGetValue(path, out var record) && record.Zxid <= zxid)
            {
                _latest.Remove(path);
            }
        }
    }

    /// <summary>Captures the current records of some paths so a failed multi can put them back.</summary>
    public Dictionary<string, ChangeRecord?> Save(IEnumerable<string> paths)
    {
        var saved = new Dictionary<string, ChangeRecord?>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            saved.TryAdd(path, _latest.GetValueOrDefault(path));
        }

        return saved;
    }

    /// <summary>
    /// Undoes a failed multi: drops every record it wrote (including paths it only derived, such as
    /// sequential names), then puts back what the saved paths held before it, as ZooKeeper's rollback does.
    /// </summary>
    public void Rollback(long zxid, Dictionary<string, ChangeRecord?> saved)
    {
        List<string>? written = null;
        foreach (var (path, record) in _latest)
        {
            if (record.Zxid == zxid)
            {
                (written ??= []).Add(path);
            }
        }

        if (written is not null)
        {
            foreach (var path in written)
            {
                _latest.Remove(path);
            }
        }

        Restore(saved);
    }

    public void Restore(Dictionary<string, ChangeRecord?> saved)
    {
        foreach (var (path, record) in saved)
        {
            if (record is null)
            {
                _latest.Remove(path);
            }
            else
            {
                _latest[path] = record;
            }
        }
    }

    public void Clear() => _latest.Clear();
}
