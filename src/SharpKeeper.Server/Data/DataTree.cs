using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Data;

/// <summary>
/// All znodes in memory, plus the ephemeral, container and TTL indexes and the watches. Mutated only
/// by applying transactions in zxid order (<see cref="ProcessTxn"/>), so every replica that applies
/// the same log holds the same tree. Not thread-safe: one thread owns it.
/// </summary>
public sealed class DataTree
{
    public const string ZooKeeperPath = "/zookeeper";
    public const string QuotaPath = "/zookeeper/quota";
    public const string ConfigPath = "/zookeeper/config";

    private static readonly IReadOnlyList<Acl> ReadAclUnsafe = [new(Perms.Read, Id.Anyone)];

    private readonly Dictionary<long, HashSet<string>> _ephemerals = new();
    private readonly HashSet<string> _containers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ttls = new(StringComparer.Ordinal);

    public DataTree()
    {
        var open = Acls.Intern(Acl.OpenAclUnsafe);
        Root = new DataNode([], open);
        var zookeeper = new DataNode([], open);
        Root.AddChild("zookeeper", zookeeper);
        zookeeper.AddChild("quota", new DataNode([], open));

        // As Apache ZooKeeper: the config node is world-readable only, with aversion -1.
        zookeeper.AddChild("config", new DataNode([], Acls.Intern(ReadAclUnsafe)) { Aversion = -1 });
        // ZooKeeper counts the root twice (under "" and "/"); node counts match its output.
        NodeCount = 5;

        // Its approximate data size counts those paths too: "/", "/zookeeper", its quota and config (44 on a fresh server).
        ApproximateDataSize = RootPathSize + ZooKeeperPath.Length + QuotaPath.Length + ConfigPath.Length;
    }

    // The root's "/" (its "" entry adds nothing).
    private const int RootPathSize = 1;

    public DataNode Root { get; }
    public AclInterner Acls { get; } = new();
    public WatchManager DataWatches { get; } = new();
    public WatchManager ChildWatches { get; } = new();
    public long LastProcessedZxid { get; set; }
    public int NodeCount { get; private set; }

    /// <summary>Bytes of path names and data, as ZooKeeper's approximate data size counts them.</summary>
    public long ApproximateDataSize { get; private set; }

    public IReadOnlyCollection<string> Containers => _containers;
    public IReadOnlyCollection<string> Ttls => _ttls;
    public IReadOnlyDictionary<long, HashSet<string>> EphemeralsBySession => _ephemerals;

    public int EphemeralCount => _ephemerals.Values.Sum(s => s.Count);

    public static bool IsSpecialPath(string path) => path is "/" or ZooKeeperPath or QuotaPath or ConfigPath;

    public DataNode? GetNode(string path) => GetNode(path.AsSpan());

    public DataNode? GetNode(ReadOnlySpan<char> path)
    {
        var node = Root;
        var span = path;
        if (span.Length == 0 || span[0] != '/' || (span.Length > 1 && span[^1] == '/'))
        {
            return null;
        }

        span = span[1..];
        while (span.Length > 0)
        {
            var slash = span.IndexOf('/');
            var name = slash < 0 ? span : span[..slash];
            node = node.GetChild(name);
            if (node is null)
            {
                return null;
            }

            span = slash < 0 ? default : span[(slash + 1)..];
        }

        return node;
    }

    /// <summary>Starts loading a snapshot: the root takes the snapshot's values and loses its children.</summary>
    public void LoadRoot(DataNode root)
    {
        Root.CopyFrom(root);
        Root.Acl = Acls.Intern(root.Acl);
        Root.ClearChildren();
        _ephemerals.Clear();
        _containers.Clear();
        _ttls.Clear();

        // As ZooKeeper counts it: the root under both "" and "/".
        NodeCount = 2;
        ApproximateDataSize = RootPathSize + (root.Data?.Length ?? 0);
    }

    /// <summary>Adds a node read from a snapshot under its (already loaded) parent.</summary>
    public void LoadNode(DataNode parent, string path, DataNode node, bool aclInterned = false) =>
        LoadNode(parent, ZkPath.Name(path), path.Length, node, path, aclInterned);

    /// <summary>
    /// Adds a node read from a snapshot under its parent by its name alone. The full path is needed
    /// only for ephemeral, container and TTL nodes, which are indexed by it.
    /// </summary>
    public void LoadNode(DataNode parent, string name, int pathChars, DataNode node, string? fullPath, bool aclInterned = false)
    {
        if (!aclInterned)
        {
            node.Acl = Acls.Intern(node.Acl);
        }

        parent.AddChild(name, node);
        NodeCount++;
        ApproximateDataSize += pathChars + (node.Data?.Length ?? 0);
        if (node.EphemeralOwner != 0)
        {
            IndexOwner(fullPath ?? throw new ArgumentNullException(nameof(fullPath), "an owned node is indexed by its path"), node.EphemeralOwner);
        }
    }

    public IReadOnlyCollection<string> EphemeralsOf(long sessionId) =>
        _ephemerals.TryGetValue(sessionId, out var set) ? set : [];

    /// <summary>Counts every descendant of a node (getAllChildrenNumber).</summary>
    public int CountDescendants(DataNode node)
    {
        var count = 0;
        var stack = new Stack<DataNode>();
        stack.Push(node);
        while (stack.Count > 0)
        {
            foreach (var (_, child) in stack.Pop().Children)
            {
                count++;
                stack.Push(child);
            }
        }

        return count;
    }

    public ProcessTxnResult ProcessTxn(in TxnHeader header, Txn txn)
    {
        var result = Apply(header, txn);
        if (header.Zxid > LastProcessedZxid)
        {
            LastProcessedZxid = header.Zxid;
        }

        return result;
    }

    private ProcessTxnResult Apply(in TxnHeader header, Txn txn)
    {
        var result = new ProcessTxnResult { Type = header.Type };
        try
        {
            switch (txn)
            {
                case CreateTxn create:
                    var owner = header.Type switch
                    {
                        OpCode.CreateContainer => EphemeralType.ContainerOwner,
                        OpCode.CreateTtl => EphemeralType.ForTtl(create.Ttl),
                        _ => create.Ephemeral ? header.ClientId : 0,
                    };
                    result.Path = create.Path;
                    result.Stat = CreateNode(create.Path, create.Data, create.Acl, owner, create.ParentCVersion, header.Zxid, header.Time);
                    break;
                case DeleteTxn delete:
                    result.Path = delete.Path;
                    DeleteNode(delete.Path, header.Zxid);
                    break;
                case SetDataTxn setData:
                    result.Path = setData.Path;
                    result.Stat = SetData(setData.Path, setData.Data, setData.Version, header.Zxid, header.Time);
                    result.Data = header.Type == OpCode.Reconfig ? setData.Data : null;
                    break;
                case SetAclTxn setAcl:
                    result.Path = setAcl.Path;
                    result.Stat = SetAcl(setAcl.Path, setAcl.Acl, setAcl.Version);
                    break;
                case CheckVersionTxn check:
                    result.Path = check.Path;
                    result.Stat = GetNode(check.Path)?.ToStat();
                    break;
                case CloseSessionTxn close:
                    KillSession(header.ClientId, close.PathsToDelete, header.Zxid);
                    break;
                case ErrorTxn error:
                    result.Err = error.Err;
                    break;
                case MultiTxn multi:
                    ApplyMulti(header, multi, result);
                    break;
                case CreateSessionTxn:
                    break;
            }
        }
        catch (KeeperException e)
        {
            // Only reachable when replaying a log over a fuzzy snapshot: the change is already there.
            result.Err = e.Code;
            if (header.Type == OpCode.Create && e.Code == ErrorCode.NodeExists && txn is CreateTxn replayed)
            {
                // As ZooKeeper (for plain creates only): the parent still takes the txn's cversion and pzxid.
                SetCversionPzxid(ZkPath.Parent(replayed.Path), replayed.ParentCVersion, header.Zxid);
            }
        }

        return result;
    }

    private void ApplyMulti(in TxnHeader header, MultiTxn multi, ProcessTxnResult result)
    {
        result.Multi = new List<ProcessTxnResult>(multi.Txns.Count);
        var failed = multi.Txns.Any(t => t.Type == OpCode.Error);
        var afterFailure = false;
        foreach (var sub in multi.Txns)
        {
            var type = sub.Type;
            var body = sub.Body;
            if (failed)
            {
                // A failed multi changes nothing: ops before the failure report Ok, after it RuntimeInconsistency.
                if (type == OpCode.Error)
                {
                    afterFailure = true;
                }
                else
                {
                    body = new ErrorTxn(afterFailure ? ErrorCode.RuntimeInconsistency : ErrorCode.Ok);
                    type = OpCode.Error;
                }
            }

            var subResult = Apply(header with { Type = type }, body);
            result.Multi.Add(subResult);
            if (subResult.Err != ErrorCode.Ok && result.Err == ErrorCode.Ok)
            {
                result.Err = subResult.Err;
            }
        }
    }

    public Stat CreateNode(string path, byte[]? data, IReadOnlyList<Acl> acl, long ephemeralOwner, int parentCVersion, long zxid, long time)
    {
        var parentPath = ZkPath.Parent(path);
        var name = ZkPath.Name(path);
        var parent = GetNode(parentPath) ?? throw new KeeperException(ErrorCode.NoNode, path);
        if (parent.GetChild(name) is not null)
        {
            throw new KeeperException(ErrorCode.NodeExists, path);
        }

        if (parentCVersion == -1)
        {
            parentCVersion = parent.Cversion + 1;
        }

        if (parentCVersion > parent.Cversion)
        {
            parent.Cversion = parentCVersion;
            parent.Pzxid = zxid;
        }

        var node = new DataNode(data, Acls.Intern(acl))
        {
            Czxid = zxid,
            Mzxid = zxid,
            Pzxid = zxid,
            Ctime = time,
            Mtime = time,
            EphemeralOwner = ephemeralOwner,
        };
        parent.AddChild(name, node);
        NodeCount++;
        ApproximateDataSize += path.Length + (data?.Length ?? 0);
        IndexOwner(path, ephemeralOwner);

        DataWatches.Trigger(path, EventType.NodeCreated, node.Acl);
        ChildWatches.Trigger(parentPath, EventType.NodeChildrenChanged, parent.Acl);
        return node.ToStat();
    }

    private void SetCversionPzxid(string path, int cversion, long zxid)
    {
        if (GetNode(path) is not { } node)
        {
            return;
        }

        if (cversion == -1)
        {
            cversion = node.Cversion + 1;
        }

        if (cversion > node.Cversion)
        {
            node.Cversion = cversion;
            node.Pzxid = zxid;
        }
    }

    public void DeleteNode(string path, long zxid)
    {
        var parentPath = ZkPath.Parent(path);
        var name = ZkPath.Name(path);
        var parent = GetNode(parentPath) ?? throw new KeeperException(ErrorCode.NoNode, path);
        var node = parent.GetChild(name) ?? throw new KeeperException(ErrorCode.NoNode, path);
        parent.RemoveChild(name);
        if (zxid > parent.Pzxid)
        {
            parent.Pzxid = zxid;
        }

        NodeCount--;
        ApproximateDataSize -= path.Length + (node.Data?.Length ?? 0);
        UnindexOwner(path, node.EphemeralOwner);

        var fired = DataWatches.Trigger(path, EventType.NodeDeleted, node.Acl);
        ChildWatches.Trigger(path, EventType.NodeDeleted, node.Acl, fired);
        ChildWatches.Trigger(parentPath, EventType.NodeChildrenChanged, parent.Acl);
    }

    public Stat SetData(string path, byte[]? data, int version, long zxid, long time)
    {
        var node = GetNode(path) ?? throw new KeeperException(ErrorCode.NoNode, path);
        ApproximateDataSize += (data?.Length ?? 0) - (node.Data?.Length ?? 0);
        node.Data = data;
        node.Mtime = time;
        node.Mzxid = zxid;
        node.Version = version;
        DataWatches.Trigger(path, EventType.NodeDataChanged, node.Acl);
        return node.ToStat();
    }

    public Stat SetAcl(string path, IReadOnlyList<Acl> acl, int version)
    {
        var node = GetNode(path) ?? throw new KeeperException(ErrorCode.NoNode, path);
        node.Aversion = version;
        node.Acl = Acls.Intern(acl);
        return node.ToStat();
    }

    private void KillSession(long sessionId, IReadOnlyList<string> paths, long zxid)
    {
        // As ZooKeeper: the paths the txn lists first, then any other ephemeral this replica still
        // indexes for the session (all of them for logs from before CloseSessionTxn carried paths).
        DeleteEphemerals(paths, zxid);
        if (_ephemerals.Remove(sessionId, out var rest) && rest.Count > 0)
        {
            DeleteEphemerals([.. rest], zxid);
        }
    }

    private void DeleteEphemerals(IReadOnlyList<string> paths, long zxid)
    {
        foreach (var path in paths)
        {
            try
            {
                DeleteNode(path, zxid);
            }
            catch (KeeperException)
            {
                // Already gone (replay over a fuzzy snapshot).
            }
        }
    }

    private void IndexOwner(string path, long owner)
    {
        if (EphemeralType.IsContainer(owner))
        {
            _containers.Add(path);
        }
        else if (EphemeralType.IsTtl(owner))
        {
            _ttls.Add(path);
        }
        else if (owner != 0)
        {
            if (!_ephemerals.TryGetValue(owner, out var set))
            {
                set = new HashSet<string>(StringComparer.Ordinal);
                _ephemerals[owner] = set;
            }

            set.Add(path);
        }
    }

    private void UnindexOwner(string path, long owner)
    {
        if (EphemeralType.IsContainer(owner))
        {
            _containers.Remove(path);
        }
        else if (EphemeralType.IsTtl(owner))
        {
            _ttls.Remove(path);
        }
        else if (owner != 0 && _ephemerals.TryGetValue(owner, out var set))
        {
            set.Remove(path);
            if (set.Count == 0)
            {
                _ephemerals.Remove(owner);
            }
        }
    }

    /// <summary>Registers the watches a reconnecting client re-sends, firing at once those whose change it missed.</summary>
    public void SetWatches(long relativeZxid, SetWatchesRequest request, IWatcher watcher)
    {
        foreach (var path in request.DataWatches)
        {
            var node = GetNode(path);
            if (node is null)
            {
                watcher.Process(EventType.NodeDeleted, path, null);
            }
            else if (node.Mzxid > relativeZxid)
            {
                watcher.Process(EventType.NodeDataChanged, path, null);
            }
            else
            {
                DataWatches.Add(path, watcher);
            }
        }

        foreach (var path in request.ExistWatches)
        {
            if (GetNode(path) is not null)
            {
                watcher.Process(EventType.NodeCreated, path, null);
            }
            else
            {
                DataWatches.Add(path, watcher);
            }
        }

        foreach (var path in request.ChildWatches)
        {
            var node = GetNode(path);
            if (node is null)
            {
                watcher.Process(EventType.NodeDeleted, path, null);
            }
            else if (node.Pzxid > relativeZxid)
            {
                watcher.Process(EventType.NodeChildrenChanged, path, null);
            }
            else
            {
                ChildWatches.Add(path, watcher);
            }
        }

        foreach (var path in request.PersistentWatches)
        {
            AddWatch(path, watcher, WatchMode.Persistent);
        }

        foreach (var path in request.PersistentRecursiveWatches)
        {
            AddWatch(path, watcher, WatchMode.PersistentRecursive);
        }
    }

    public void AddWatch(string path, IWatcher watcher, WatchMode mode)
    {
        ChildWatches.Add(path, watcher, mode);
        DataWatches.Add(path, watcher, mode);
    }

    public void RemoveWatcher(IWatcher watcher)
    {
        DataWatches.RemoveWatcher(watcher);
        ChildWatches.RemoveWatcher(watcher);
    }
}
