using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// A snapshot serialized a slice at a time by the thread that owns the tree, with writes applied
/// between slices: a "fuzzy" snapshot as ZooKeeper takes one. It is named after the last zxid applied
/// when it began; replaying the log from there repairs whatever changed while it was being taken, as
/// every txn can be re-applied over a node state it already produced.
/// Each node is written whole and after its parent, so the file always loads; the ACL table is
/// built from the nodes actually written, so an ACL first used mid-snapshot is never missing.
/// </summary>
public sealed class FuzzySnapshot : IDisposable
{
    private readonly Dictionary<long, int> _sessions;
    private readonly Dictionary<IReadOnlyList<Acl>, long> _aclIds = new(ReferenceEqualityComparer.Instance);
    private readonly Stack<(string ParentPath, string Name, DataNode Node)> _toVisit = new();
    // The nodes go into fixed-size segments rather than one buffer that doubles: a large tree then
    // needs its serialized size once, not up to three times while a doubling copies, and no huge arrays.
    private const int SegmentBytes = 1 << 20;
    private readonly List<JuteWriter> _segments = [new(SegmentBytes)];
    private long _nextAclId = 1;

    public FuzzySnapshot(DataTree tree, IReadOnlyDictionary<long, int> sessions)
    {
        Zxid = tree.LastProcessedZxid;
        _sessions = new Dictionary<long, int>(sessions);
        _toVisit.Push(("", "", tree.Root));
    }

    /// <summary>The last zxid applied when the snapshot began: the file's name and the replay's start.</summary>
    public long Zxid { get; }

    public bool IsComplete => _toVisit.Count == 0;

    public int NodesWritten { get; private set; }

    /// <summary>Serializes up to <paramref name="maxNodes"/> more nodes; true once every node is written.</summary>
    public bool Step(int maxNodes)
    {
        for (var written = 0; written < maxNodes && _toVisit.Count > 0; written++)
        {
            var (parentPath, name, node) = _toVisit.Pop();
            var path = name.Length == 0 && parentPath.Length == 0 ? "" : parentPath + "/" + name;
            WriteNode(path, node);
            foreach (var (childName, child) in node.Children)
            {
                _toVisit.Push((path, childName, child));
            }
        }

        return IsComplete;
    }

    private void WriteNode(string path, DataNode node)
    {
        var nodes = _segments[^1];
        var most = (path.Length * 3) + (node.Data?.Length ?? 0) + 96;
        if (nodes.Length > 0 && nodes.Length + most > SegmentBytes)
        {
            nodes = new JuteWriter(SegmentBytes);
            _segments.Add(nodes);
        }

        nodes.WriteString(path);
        nodes.WriteBuffer(node.Data);
        nodes.WriteLong(AclIdOf(node.Acl));
        nodes.WriteLong(node.Czxid);
        nodes.WriteLong(node.Mzxid);
        nodes.WriteLong(node.Ctime);
        nodes.WriteLong(node.Mtime);
        nodes.WriteInt(node.Version);
        nodes.WriteInt(node.Cversion);
        nodes.WriteInt(node.Aversion);
        nodes.WriteLong(node.EphemeralOwner);
        nodes.WriteLong(node.Pzxid);
        NodesWritten++;
    }

    private long AclIdOf(IReadOnlyList<Acl> acl)
    {
        if (!_aclIds.TryGetValue(acl, out var id))
        {
            id = acl.SequenceEqual(Acl.OpenAclUnsafe) ? SnapshotFile.OpenAclId : _nextAclId++;
            _aclIds[acl] = id;
        }

        return id;
    }

    /// <summary>
    /// Writes the finished snapshot: header, sessions and ACL table, the nodes, the "/" terminator,
    /// the Adler-32 of everything before it and the "/" seal. Safe on any thread once complete.
    /// </summary>
    public void WriteTo(Stream stream)
    {
        using var header = new JuteWriter(16);
        TxnLogFormat.WriteFileHeader(header, StoreLayout.SnapshotMagic, -1);
        var checksum = new Adler32();
        checksum.Update(header.WrittenSpan);
        stream.Write(header.WrittenSpan);
        WriteBody(stream, ref checksum);

        using var seal = new JuteWriter(16);
        seal.WriteLong(checksum.Value);
        seal.WriteString("/");
        stream.Write(seal.WrittenSpan);
    }

    /// <summary>The body alone (sessions, ACL table, nodes, "/"), as a leader streams it in a SNAP sync.</summary>
    public void WriteBodyTo(Stream stream)
    {
        var ignored = new Adler32();
        WriteBody(stream, ref ignored);
    }

    private void WriteBody(Stream stream, ref Adler32 checksum)
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException("the snapshot is not complete");
        }

        using var head = new JuteWriter(4096);
        head.WriteInt(_sessions.Count);
        foreach (var (id, timeout) in _sessions)
        {
            head.WriteLong(id);
            head.WriteInt(timeout);
        }

        head.WriteInt(_aclIds.Count(kv => kv.Value != SnapshotFile.OpenAclId));
        foreach (var (acl, id) in _aclIds)
        {
            if (id != SnapshotFile.OpenAclId)
            {
                head.WriteLong(id);
                Acl.WriteList(head, acl);
            }
        }

        using var terminator = new JuteWriter(16);
        terminator.WriteString("/");
        Write(stream, head, ref checksum);
        foreach (var segment in _segments)
        {
            Write(stream, segment, ref checksum);
        }

        Write(stream, terminator, ref checksum);
    }

    private static void Write(Stream stream, JuteWriter part, ref Adler32 checksum)
    {
        checksum.Update(part.WrittenSpan);
        stream.Write(part.WrittenSpan);
    }

    public long Length => _segments.Sum(s => (long)s.Length);

    public void Dispose()
    {
        foreach (var segment in _segments)
        {
            segment.Dispose();
        }
    }
}
