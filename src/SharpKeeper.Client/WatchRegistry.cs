using SharpKeeper.Protocol;

namespace SharpKeeper.Client;

/// <summary>
/// The client side of watches: which watcher to call for which event, with ZooKeeper's rules
/// (one-shot data/exist/child watches, persistent and recursive ones), and what to re-register
/// with setWatches after a reconnect.
/// </summary>
internal sealed class WatchRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _exist = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _child = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _persistent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _recursive = new(StringComparer.Ordinal);

    public void AddData(string path, Action<WatchedEvent> watcher) => Add(_data, path, watcher);

    public void AddExist(string path, Action<WatchedEvent> watcher) => Add(_exist, path, watcher);

    public void AddChild(string path, Action<WatchedEvent> watcher) => Add(_child, path, watcher);

    public void AddPersistent(string path, Action<WatchedEvent> watcher, bool recursive) => Add(recursive ? _recursive : _persistent, path, watcher);

    /// <summary>The watchers an event triggers; one-shot ones are removed.</summary>
    public List<Action<WatchedEvent>> Trigger(EventType type, string path)
    {
        var result = new List<Action<WatchedEvent>>();
        lock (_gate)
        {
            switch (type)
            {
                case EventType.NodeCreated or EventType.NodeDataChanged:
                    Take(_data, path, result);
                    Take(_exist, path, result);
                    break;
                case EventType.NodeChildrenChanged:
                    Take(_child, path, result);
                    break;
                case EventType.NodeDeleted:
                    Take(_data, path, result);
                    Take(_exist, path, result);
                    Take(_child, path, result);
                    break;
            }

            if (_persistent.TryGetValue(path, out var persistent))
            {
                result.AddRange(persistent);
            }

            if (type != EventType.NodeChildrenChanged)
            {
                foreach (var (root, watchers) in _recursive)
                {
                    if (path == root || path.StartsWith(root == "/" ? "/" : root + "/", StringComparison.Ordinal))
                    {
                        result.AddRange(watchers);
                    }
                }
            }
        }

        return [.. result.Distinct()];
    }

    public bool Remove(string path, WatcherType type)
    {
        lock (_gate)
        {
            var removed = false;
            if (type is WatcherType.Data or WatcherType.Any)
            {
                removed |= _data.Remove(path) | _exist.Remove(path);
            }

            if (type is WatcherType.Children or WatcherType.Any)
            {
                removed |= _child.Remove(path);
            }

            if (type == WatcherType.Any)
            {
                removed |= _persistent.Remove(path) | _recursive.Remove(path);
            }

            return removed;
        }
    }

    /// <summary>Everything registered, for setWatches2 after a reconnect.</summary>
    public (List<string> Data, List<string> Exist, List<string> Child, List<string> Persistent, List<string> Recursive) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _data.Keys], [.. _exist.Keys], [.. _child.Keys], [.. _persistent.Keys], [.. _recursive.Keys]);
        }
    }

    /// <summary>Session expired: every watcher hears it once and all are dropped.</summary>
    public List<Action<WatchedEvent>> Clear()
    {
        lock (_gate)
        {
            var all = new[] { _data, _exist, _child, _persistent, _recursive }.SelectMany(d => d.Values.SelectMany(s => s)).Distinct().ToList();
            foreach (var map in new[] { _data, _exist, _child, _persistent, _recursive })
            {
                map.Clear();
            }

            return all;
        }
    }

    private void Add(Dictionary<string, HashSet<Action<WatchedEvent>>> map, string path, Action<WatchedEvent> watcher)
    {
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

    private static void Take(Dictionary<string, HashSet<Action<WatchedEvent>>> map, string path, List<Action<WatchedEvent>> into)
    {
        if (map.Remove(path, out var set))
        {
            into.AddRange(set);
        }
    }
}
