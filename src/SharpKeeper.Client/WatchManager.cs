using SharpKeeper.Protocol;

namespace SharpKeeper.Client;

/// <summary>Which table a watch lives in on the client.</summary>
internal enum WatchKind : byte
{
    None,

    /// <summary>exists: a data watch when the node exists, an exist watch when it does not.</summary>
    Exists,
    Data,
    Child,
    Persistent,
    PersistentRecursive,
}

/// <summary>
/// The client side of watches, keyed by client path: which watchers an event triggers (one-shot
/// data/exist/child watches are consumed, persistent and recursive ones stay), what to re-register with
/// setWatches after a reconnect, and local removal for removeWatches. All methods are thread-safe.
/// </summary>
internal sealed class WatchManager
{
    /// <summary>Paths per setWatches frame, counted in characters, as ZooKeeper's client batches them.</summary>
    public const int SetWatchesBatchLength = 128 * 1024;

    private readonly object _gate = new();
    private readonly Dictionary<string, HashSet<Watcher>> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Watcher>> _exist = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Watcher>> _child = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Watcher>> _persistent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Watcher>> _recursive = new(StringComparer.Ordinal);

    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _data.Count + _exist.Count + _child.Count + _persistent.Count + _recursive.Count == 0;
            }
        }
    }

    /// <summary>Registers after a reply, with ZooKeeper's rules for which error codes leave a watch on the server.</summary>
    public void Register(WatchKind kind, string path, Watcher watcher, ErrorCode err)
    {
        var map = kind switch
        {
            WatchKind.Exists when err == ErrorCode.Ok => _data,
            WatchKind.Exists when err == ErrorCode.NoNode => _exist,
            WatchKind.Data or WatchKind.Child when err == ErrorCode.Ok => kind == WatchKind.Data ? _data : _child,
            WatchKind.Persistent or WatchKind.PersistentRecursive when err is ErrorCode.Ok or ErrorCode.NoNode =>
                kind == WatchKind.Persistent ? _persistent : _recursive,
            _ => null,
        };
        if (map is null)
        {
            return;
        }

        lock (_gate)
        {
            if (!map.TryGetValue(path, out var set))
            {
                set = [];
                map[path] = set;
            }

            set.Add(watcher);
        }
    }

    /// <summary>The watchers a node event triggers; one-shot ones are removed. Null when none.</summary>
    public List<Watcher>? Materialize(EventType type, string path)
    {
        List<Watcher>? result = null;
        var sources = 0;
        lock (_gate)
        {
            switch (type)
            {
                case EventType.NodeCreated or EventType.NodeDataChanged:
                    sources += Take(_data, path, ref result) + Take(_exist, path, ref result);
                    break;
                case EventType.NodeChildrenChanged:
                    sources += Take(_child, path, ref result);
                    break;
                case EventType.NodeDeleted:
                    sources += Take(_data, path, ref result) + Take(_exist, path, ref result) + Take(_child, path, ref result);
                    break;
            }

            if (_persistent.Count > 0 && _persistent.TryGetValue(path, out var persistent))
            {
                sources += Add(persistent, ref result);
            }

            if (_recursive.Count > 0)
            {
                // The node itself and every ancestor up to the root.
                var current = path;
                while (true)
                {
                    if (_recursive.TryGetValue(current, out var recursive))
                    {
                        sources += Add(recursive, ref result);
                    }

                    if (current.Length <= 1)
                    {
                        break;
                    }

                    current = ZkPath.Parent(current);
                }
            }
        }

        return sources > 1 ? Distinct(result!) : result;
    }

    /// <summary>Every watcher (plus the default one), for a connection-state event. Clears all watches when asked (terminal states).</summary>
    public List<Watcher> All(Watcher? defaultWatcher, bool clear)
    {
        var result = new List<Watcher>();
        if (defaultWatcher is not null)
        {
            result.Add(defaultWatcher);
        }

        lock (_gate)
        {
            foreach (var map in Maps())
            {
                foreach (var set in map.Values)
                {
                    result.AddRange(set);
                }

                if (clear)
                {
                    map.Clear();
                }
            }
        }

        return Distinct(result);
    }

    /// <summary>
    /// The setWatches frames to send after a reconnect: setWatches (101) while no persistent watch is in a
    /// batch (older servers know only that), setWatches2 (105) otherwise.
    /// </summary>
    public List<(OpCode Op, Protocol.Records.SetWatchesRequest Request)> SetWatchesBatches(long relativeZxid, string? chroot)
    {
        List<string> data, exist, child, persistent, recursive;
        lock (_gate)
        {
            data = [.. _data.Keys];
            exist = [.. _exist.Keys];
            child = [.. _child.Keys];
            persistent = [.. _persistent.Keys];
            recursive = [.. _recursive.Keys];
        }

        var batches = new List<(OpCode, Protocol.Records.SetWatchesRequest)>();
        var lists = new[] { data, exist, child, persistent, recursive };
        var list = 0;
        var index = 0;
        while (list < lists.Length)
        {
            var batch = new List<string>[] { [], [], [], [], [] };
            var length = 0;
            while (length < SetWatchesBatchLength && list < lists.Length)
            {
                if (index >= lists[list].Count)
                {
                    list++;
                    index = 0;
                    continue;
                }

                var path = lists[list][index++];
                batch[list].Add(ChrootPath.ToServer(chroot, path));
                length += path.Length;
            }

            if (length == 0 && batch.All(b => b.Count == 0))
            {
                break;
            }

            var op = batch[3].Count == 0 && batch[4].Count == 0 ? OpCode.SetWatches : OpCode.SetWatches2;
            batches.Add((op, new Protocol.Records.SetWatchesRequest(relativeZxid, batch[0], batch[1], batch[2], batch[3], batch[4])));
        }

        return batches;
    }

    /// <summary>
    /// Local half of removeWatches/checkWatches with ZooKeeper's rules: NoWatcher when this client holds no such
    /// watch; the server's error when it failed (unless <paramref name="local"/>); otherwise the watches are removed,
    /// the removed watchers are returned by event type, and the result is Ok.
    /// </summary>
    public ErrorCode Remove(string path, Watcher? watcher, WatcherType type, bool local, ErrorCode serverErr, List<(EventType Type, List<Watcher> Watchers)> removed)
    {
        lock (_gate)
        {
            if (!Contains(path, watcher, type))
            {
                return ErrorCode.NoWatcher;
            }

            if (!local && serverErr != ErrorCode.Ok)
            {
                return serverErr;
            }

            var child = new List<Watcher>();
            var data = new List<Watcher>();
            var persistent = new List<Watcher>();
            var any = false;
            if (type is WatcherType.Children or WatcherType.Any)
            {
                any |= RemoveFrom(_child, path, watcher, child);
            }

            if (type is WatcherType.Data or WatcherType.Any)
            {
                any |= RemoveFrom(_data, path, watcher, data);
                any |= RemoveFrom(_exist, path, watcher, data);
            }

            if (type is WatcherType.Any)
            {
                any |= RemoveFrom(_persistent, path, watcher, persistent);
                any |= RemoveFrom(_recursive, path, watcher, persistent);
            }

            if (!any)
            {
                return ErrorCode.NoWatcher;
            }

            Report(EventType.ChildWatchRemoved, child, removed);
            Report(EventType.DataWatchRemoved, data, removed);
            Report(EventType.PersistentWatchRemoved, persistent, removed);
            return ErrorCode.Ok;
        }
    }

    /// <summary>Counts for diagnostics and tests: data, exist, child, persistent, recursive paths.</summary>
    public (int Data, int Exist, int Child, int Persistent, int Recursive) Counts()
    {
        lock (_gate)
        {
            return (_data.Count, _exist.Count, _child.Count, _persistent.Count, _recursive.Count);
        }
    }

    private bool Contains(string path, Watcher? watcher, WatcherType type)
    {
        var found = false;
        if (type is WatcherType.Children or WatcherType.Any)
        {
            found |= Has(_child, path, watcher);
        }

        if (type is WatcherType.Data or WatcherType.Any)
        {
            found |= Has(_data, path, watcher) || Has(_exist, path, watcher);
        }

        return found || Has(_persistent, path, watcher) || Has(_recursive, path, watcher);
    }

    private static bool Has(Dictionary<string, HashSet<Watcher>> map, string path, Watcher? watcher) =>
        map.TryGetValue(path, out var set) && (watcher is null ? set.Count > 0 : set.Contains(watcher));

    private static bool RemoveFrom(Dictionary<string, HashSet<Watcher>> map, string path, Watcher? watcher, List<Watcher> into)
    {
        if (!map.TryGetValue(path, out var set))
        {
            return false;
        }

        if (watcher is null)
        {
            map.Remove(path);
            into.AddRange(set);
            return set.Count > 0;
        }

        if (!set.Remove(watcher))
        {
            return false;
        }

        into.Add(watcher);
        if (set.Count == 0)
        {
            map.Remove(path);
        }

        return true;
    }

    private static void Report(EventType type, List<Watcher> watchers, List<(EventType, List<Watcher>)> removed)
    {
        if (watchers.Count > 0)
        {
            removed.Add((type, Distinct(watchers)));
        }
    }

    private Dictionary<string, HashSet<Watcher>>[] Maps() => [_data, _exist, _child, _persistent, _recursive];

    private static int Take(Dictionary<string, HashSet<Watcher>> map, string path, ref List<Watcher>? into) =>
        map.Count > 0 && map.Remove(path, out var set) ? Add(set, ref into) : 0;

    private static int Add(HashSet<Watcher> set, ref List<Watcher>? into)
    {
        into ??= new List<Watcher>(set.Count);
        into.AddRange(set);
        return 1;
    }

    private static List<Watcher> Distinct(List<Watcher> watchers)
    {
        if (watchers.Count < 2)
        {
            return watchers;
        }

        var seen = new HashSet<Watcher>(watchers.Count);
        var result = new List<Watcher>(watchers.Count);
        foreach (var watcher in watchers)
        {
            if (seen.Add(watcher))
            {
                result.Add(watcher);
            }
        }

        return result;
    }
}
