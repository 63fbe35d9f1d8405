using System.Buffers;
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
    // One frame per level of the walk: a node's path and a copy of its children, taken when the node
    // is written (writes between slices may change the live child set). The copies are pooled, and
    // hold no reference to strings made during the walk, so a wide node does not leave hundreds of
    // thousands of old-to-young references for every collection to scan.
    private readonly Stack<Frame> _frames = new();
    private DataNode? _root;
    // The nodes go into fixed-size segments rather than one buffer that doubles: a large tree then
    // needs its serialized size once, not up to three times while a doubling copies, and no huge arrays.
    private const int SegmentBytes = 1 << 20;
    private readonly List<JuteWriter> _segments = [new(SegmentBytes)];
    private long _nextAclId = 1;

    public FuzzySnapshot(DataTree tree, IReadOnlyDictionary<long, int> sessions)
    {
        Zxid = tree.LastProcessedZxid;
        _sessions = new Dictionary<long, int>(sessions);
        _root = tree.Root;
    }

    /// <summary>The last zxid applied when the snapshot began: the file's name and the replay's start.</summary>
    public long Zxid { get; }

    public bool IsComplete => _root is null && _frames.Count == 0;

    public int NodesWritten { get; private set; }

    /// <summary>Serializes up to <paramref name="maxNodes"/> more nodes; true once every node is written.</summary>
    public bool Step(int maxNodes)
    {
        if (_root is { } root && maxNodes > 0)
        {
            WriteNode("", root);
            Enter("", root);
            _root = null;
            maxNodes--;
        }

        for (var written = 0; written < maxNodes && _frames.Count > 0;)
        {
            var frame = _frames.Peek();
            if (frame.Next == frame.Count)
            {
                ArrayPool<KeyValuePair<string, DataNode>>.Shared.Return(frame.Children, clearArray: true);
                _frames.Pop();
                continue;
            }

            var (name, node) = frame.Children[frame.Next];
            frame.Children[frame.Next++] = default;
            var path = frame.Path + "/" + name;
            WriteNode(path, node);
            written++;
            Enter(path, node);
        }

        return IsComplete;
    }

    private void Enter(string path, DataNode node)
    {
        var count = node.ChildCount;
        if (count == 0)
        {
            return;
        }

        var children = ArrayPool<KeyValuePair<string, DataNode>>.Shared.Rent(count);
        node.CopyChildrenTo(children);
        _frames.Push(new Frame(path, children, count));
    }

    private sealed class Frame(string path, KeyValuePair<string, DataNode>[] children, int count)
    {
        public string Path { get; } = path;
        public KeyValuePair<string, DataNode>[] Children { get; } = children;
        public int Count { get; } = count;
        public int Next { get; set; }
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
        while (_frames.TryPop(out var frame))
        {
            ArrayPool<KeyValuePair<string, DataNode>>.Shared.Return(frame.Children, clearArray: true);
        }

        foreach (var segment in _segments)
        {
            segment.Dispose();
        }
    }
}
