using System.Buffers;
using System.Threading.Channels;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// A snapshot serialized a slice at a time by the thread that owns the tree, with writes applied
/// between slices: a "fuzzy" snapshot as ZooKeeper takes one. It is named after the last zxid applied
/// when it began; replaying the log from there repairs whatever changed while it was being taken, as
/// every txn can be re-applied over a node state it already produced.
/// <para>
/// The body (sessions, ACL table, nodes, "/") goes out in 1 MB segments as it is serialized: a writer
/// on another thread takes them (<see cref="WaitToReadAsync"/>, <see cref="TryTakeSegment"/>) while
/// the walk goes on, and the walk pauses (<see cref="IsBackedUp"/>) while too many wait, so a snapshot
/// of any size holds a few megabytes, not its whole serialized size, in memory.
/// </para>
/// <para>
/// Each node is written whole and after its parent, so the file always loads. The ACL table comes
/// first in the format, so it holds every ACL list the tree had interned when the walk began; a node
/// whose list is newer got it from a txn after <see cref="Zxid"/>, which the replay applies again: a
/// node created since is left out with its subtree (the replay creates them), and a node whose ACL
/// was set since is written with the open ACL (the replay sets it).
/// </para>
/// </summary>
public sealed class FuzzySnapshot : IDisposable
{
    /// <summary>Serialized segments that may wait for the writer before the walk pauses.</summary>
    public const int MaxPendingSegments = 8;

    private const int SegmentBytes = 1 << 20;

    private readonly Dictionary<IReadOnlyList<Acl>, long> _aclIds = new(ReferenceEqualityComparer.Instance);
    // One frame per level of the walk: a node's path and a copy of its children, taken when the node
    // is written (writes between slices may change the live child set). The copies are pooled, and
    // hold no reference to strings made during the walk, so a wide node does not leave hundreds of
    // thousands of old-to-young references for every collection to scan.
    private readonly Stack<Frame> _frames = new();
    private readonly Channel<JuteWriter> _ready = Channel.CreateUnbounded<JuteWriter>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private DataNode? _root;
    private JuteWriter? _segment = new(SegmentBytes);
    private int _pendingSegments;
    private Action? _resume;
    private IReadOnlyList<Acl>? _lastAcl;
    private long _lastAclId;

    public FuzzySnapshot(DataTree tree, IReadOnlyDictionary<long, int> sessions)
    {
        Zxid = tree.LastProcessedZxid;
        _root = tree.Root;
        var head = _segment!;
        head.WriteInt(sessions.Count);
        foreach (var (id, timeout) in sessions)
        {
            head.WriteLong(id);
            head.WriteInt(timeout);
        }

        var nextAclId = 1L;
        foreach (var acl in tree.Acls.Lists)
        {
            _aclIds[acl] = acl.SequenceEqual(Acl.OpenAclUnsafe) ? SnapshotFile.OpenAclId : nextAclId++;
        }

        head.WriteInt((int)(nextAclId - 1));
        foreach (var (acl, id) in _aclIds)
        {
            if (id != SnapshotFile.OpenAclId)
            {
                head.WriteLong(id);
                Acl.WriteList(head, acl);
            }
        }

        Length = head.Length;
    }

    /// <summary>The last zxid applied when the snapshot began: the file's name and the replay's start.</summary>
    public long Zxid { get; }

    /// <summary>True once every node is serialized (the last segment may still wait for the writer).</summary>
    public bool IsComplete => _segment is null;

    public int NodesWritten { get; private set; }

    /// <summary>Bytes serialized so far.</summary>
    public long Length { get; private set; }

    /// <summary>True while so many segments wait for the writer that the walk should pause (see <see cref="ResumeWhenDrained"/>).</summary>
    public bool IsBackedUp => Volatile.Read(ref _pendingSegments) >= MaxPendingSegments;

    /// <summary>Serializes up to <paramref name="maxNodes"/> more nodes; true once every node is written.</summary>
    public bool Step(int maxNodes)
    {
        if (_segment is null)
        {
            return true;
        }

        if (_root is { } root && maxNodes > 0)
        {
            WriteNode("", root, AclIdOf(root) ?? SnapshotFile.OpenAclId);
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
            if (AclIdOf(node) is not { } aclId)
            {
                continue;
            }

            var path = frame.Path + "/" + name;
            WriteNode(path, node, aclId);
            written++;
            Enter(path, node);
        }

        if (_root is not null || _frames.Count > 0)
        {
            return false;
        }

        _segment.WriteString("/");
        Length += 5;
        Publish(_segment);
        _segment = null;
        _ready.Writer.TryComplete();
        return true;
    }

    /// <summary>
    /// Runs <paramref name="resume"/> once, on the writer's thread or this one, as soon as the walk
    /// is no longer backed up (at once if it is not now).
    /// </summary>
    public void ResumeWhenDrained(Action resume)
    {
        Volatile.Write(ref _resume, resume);
        if (!IsBackedUp)
        {
            Interlocked.Exchange(ref _resume, null)?.Invoke();
        }
    }

    /// <summary>Completes with true when a segment can be taken, false once all were taken; throws if the snapshot was abandoned.</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _ready.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Takes the next serialized segment, in order; the caller writes and disposes it.</summary>
    public bool TryTakeSegment(out JuteWriter segment)
    {
        if (!_ready.Reader.TryRead(out segment!))
        {
            return false;
        }

        Interlocked.Decrement(ref _pendingSegments);
        if (!IsBackedUp)
        {
            Interlocked.Exchange(ref _resume, null)?.Invoke();
        }

        return true;
    }

    /// <summary>Writes the body of a complete snapshot (sessions, ACL table, nodes, "/"), as a leader streams it in a SNAP sync.</summary>
    public void WriteBodyTo(Stream stream)
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException("the snapshot is not complete");
        }

        while (TryTakeSegment(out var segment))
        {
            using (segment)
            {
                stream.Write(segment.WrittenSpan);
            }
        }
    }

    /// <summary>Stops a walk that will not finish (the server stops): the writer sees the snapshot abandoned.</summary>
    public void Abandon()
    {
        if (_segment is null)
        {
            return;
        }

        _segment.Dispose();
        _segment = null;
        ReturnFrames();
        _ready.Writer.TryComplete(new OperationCanceledException("the snapshot was abandoned"));
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

    /// <summary>The node's id in the ACL table; null to leave out a node (and its subtree) created since the walk began with a newer list.</summary>
    private long? AclIdOf(DataNode node)
    {
        // Most nodes share one list: the last one found answers without a lookup.
        if (ReferenceEquals(node.Acl, _lastAcl))
        {
            return _lastAclId;
        }

        if (!_aclIds.TryGetValue(node.Acl, out var id))
        {
            return node.Czxid > Zxid ? null : SnapshotFile.OpenAclId;
        }

        (_lastAcl, _lastAclId) = (node.Acl, id);
        return id;
    }

    private void WriteNode(string path, DataNode node, long aclId)
    {
        var nodes = _segment!;
        var most = (path.Length * 3) + (node.Data?.Length ?? 0) + 96;
        if (nodes.Length > 0 && nodes.Length + most > SegmentBytes)
        {
            Publish(nodes);
            nodes = _segment = new JuteWriter(SegmentBytes);
        }

        var before = nodes.Length;
        nodes.WriteString(path);
        nodes.WriteBuffer(node.Data);
        nodes.WriteLong(aclId);
        nodes.WriteLong(node.Czxid);
        nodes.WriteLong(node.Mzxid);
        nodes.WriteLong(node.Ctime);
        nodes.WriteLong(node.Mtime);
        nodes.WriteInt(node.Version);
        nodes.WriteInt(node.Cversion);
        nodes.WriteInt(node.Aversion);
        nodes.WriteLong(node.EphemeralOwner);
        nodes.WriteLong(node.Pzxid);
        Length += nodes.Length - before;
        NodesWritten++;
    }

    private void Publish(JuteWriter segment)
    {
        Interlocked.Increment(ref _pendingSegments);
        _ready.Writer.TryWrite(segment);
    }

    private void ReturnFrames()
    {
        while (_frames.TryPop(out var frame))
        {
            ArrayPool<KeyValuePair<string, DataNode>>.Shared.Return(frame.Children, clearArray: true);
        }
    }

    /// <summary>
    /// Abandons the walk if unfinished and returns the buffers of segments nobody took: for the only
    /// owner, or for the writer once <see cref="WaitToReadAsync"/> completed (the walk has ended).
    /// </summary>
    public void Dispose()
    {
        Abandon();
        while (_ready.Reader.TryRead(out var segment))
        {
            segment.Dispose();
        }
    }
}
