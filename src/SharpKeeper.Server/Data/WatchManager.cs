using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Data;

/// <summary>
/// The watches of one kind (data or child) on all paths. One-shot watches are removed when they
/// fire; persistent ones stay; recursive ones also fire for every descendant's data event.
/// </summary>
public sealed class WatchManager
{
    private readonly Dictionary<string, Dictionary<IWatcher, WatchMode>> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<IWatcher, HashSet<string>> _byWatcher = new(ReferenceEqualityComparer.Instance);
    private int _recursiveCount;

    public int PathCount => _byPath.Count;

    public int WatchCount => _byPath.Values.Sum(w => w.Count);

    public void Add(string path, IWatcher watcher, WatchMode mode = WatchMode.Standard)
    {
        if (!_byPath.TryGetValue(path, out var watchers))
        {
            watchers = new Dictionary<IWatcher, WatchMode>(ReferenceEqualityComparer.Instance);
            _byPath[path] = watchers;
        }

        if (watchers.TryGetValue(watcher, out var existing))
        {
            // A one-shot watch never downgrades a persistent one already in place.
            if (mode == WatchMode.Standard || existing == mode)
            {
                return;
            }

            if (existing == WatchMode.PersistentRecursive)
            {
                _recursiveCount--;
            }
        }

        watchers[watcher] = mode;
        if (mode == WatchMode.PersistentRecursive)
        {
            _recursiveCount++;
        }

        if (!_byWatcher.TryGetValue(watcher, out var paths))
        {
            paths = new HashSet<string>(StringComparer.Ordinal);
            _byWatcher[watcher] = paths;
        }

        paths.Add(path);
    }

    /// <summary>
    /// Fires <paramref name="type"/> for <paramref name="path"/>. Returns the watchers notified, so a
    /// second manager can skip them (a delete notifies a watcher once even if it watched data and children).
    /// </summary>
    public HashSet<IWatcher>? Trigger(string path, EventType type, IReadOnlyList<Acl>? acl, HashSet<IWatcher>? suppress = null)
    {
        HashSet<IWatcher>? fired = null;
        if (_byPath.TryGetValue(path, out var watchers))
        {
            List<IWatcher>? oneShots = null;
            foreach (var (watcher, mode) in watchers)
            {
                (fired ??= new HashSet<IWatcher>(ReferenceEqualityComparer.Instance)).Add(watcher);
                if (mode == WatchMode.Standard)
                {
                    (oneShots ??= []).Add(watcher);
                }
                else if (mode == WatchMode.PersistentRecursive && type == EventType.NodeChildrenChanged)
                {
                    // Recursive watches report data events only.
                    fired.Remove(watcher);
                }
            }

            if (oneShots is not null)
            {
                foreach (var watcher in oneShots)
                {
                    RemoveOne(path, watcher, watchers);
                }
            }
        }

        if (_recursiveCount > 0 && type != EventType.NodeChildrenChanged)
        {
            for (var parent = path; parent != "/";)
            {
                parent = ZkPath.Parent(parent);
                if (_byPath.TryGetValue(parent, out var parentWatchers))
                {
                    foreach (var (watcher, mode) in parentWatchers)
                    {
                        if (mode == WatchMode.PersistentRecursive)
                        {
                            (fired ??= new HashSet<IWatcher>(ReferenceEqualityComparer.Instance)).Add(watcher);
                        }
                    }
                }
            }
        }

        if (fired is null)
        {
            return null;
        }

        foreach (var watcher in fired)
        {
            if (suppress is null || !suppress.Contains(watcher))
            {
                watcher.Process(type, path, acl);
            }
        }

        return fired;
    }

    public bool Contains(string path, IWatcher watcher) =>
        _byPath.TryGetValue(path, out var watchers) && watchers.ContainsKey(watcher);

    public bool Contains(string path, IWatcher watcher, WatchMode mode) =>
        _byPath.TryGetValue(path, out var watchers) && watchers.TryGetValue(watcher, out var m) && m == mode;

    public bool Remove(string path, IWatcher watcher)
    {
        if (!_byPath.TryGetValue(path, out var watchers) || !watchers.ContainsKey(watcher))
        {
            return false;
        }

        RemoveOne(path, watcher, watchers);
        return true;
    }

    /// <summary>Drops every watch of a watcher (its connection closed).</summary>
    public void RemoveWatcher(IWatcher watcher)
    {
        if (!_byWatcher.Remove(watcher, out var paths))
        {
            return;
        }

        foreach (var path in paths)
        {
            if (_byPath.TryGetValue(path, out var watchers) && watchers.Remove(watcher, out var mode))
            {
                if (mode == WatchMode.PersistentRecursive)
                {
                    _recursiveCount--;
                }

                if (watchers.Count == 0)
                {
                    _byPath.Remove(path);
                }
            }
        }
    }

    public IReadOnlyCollection<string> PathsOf(IWatcher watcher) =>
        _byWatcher.TryGetValue(watcher, out var paths) ? paths : [];

    public IEnumerable<(string Path, IEnumerable<IWatcher> Watchers)> ByPath() =>
        _byPath.Select(p => (p.Key, (IEnumerable<IWatcher>)p.Value.Keys));

    public IEnumerable<(IWatcher Watcher, IReadOnlyCollection<string> Paths)> ByWatcher() =>
        _byWatcher.Select(w => (w.Key, (IReadOnlyCollection<string>)w.Value));

    private void RemoveOne(string path, IWatcher watcher, Dictionary<IWatcher, WatchMode> watchers)
    {
        if (watchers.Remove(watcher, out var mode) && mode == WatchMode.PersistentRecursive)
        {
            _recursiveCount--;
        }

        if (watchers.Count == 0)
        {
            _byPath.Remove(path);
        }

        if (_byWatcher.TryGetValue(watcher, out var paths))
        {
            paths.Remove(path);
            if (paths.Count == 0)
            {
                _byWatcher.Remove(watcher);
            }
        }
    }
}
