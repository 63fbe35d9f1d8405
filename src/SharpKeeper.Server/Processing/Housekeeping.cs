using SharpKeeper.Protocol;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// What falls due on its own, decided here and carried out by the core: where sessions are owned
/// (standalone, leader), sessions past their timeout, containers that lost their last child (or
/// never had one within znode.container.maxNeverUsedIntervalMs) and TTL nodes idle past their
/// TTL, each closed or deleted by a txn; on every server, the snapshot cadence (every snapCount/2
/// plus a per-server random share of it applied txns, as Apache spreads them).
/// </summary>
public sealed class Housekeeping
{
    private readonly CoreOptions _options;
    private readonly Random _snapshotJitter;
    private long _nextSweep;
    private long _txnsSinceSnapshot;
    private long _snapshotThreshold;

    public Housekeeping(CoreOptions options, long monotonicNow)
    {
        _options = options;
        _snapshotJitter = new Random((int)options.ServerId);
        _snapshotThreshold = NextSnapshotThreshold();
        _nextSweep = monotonicNow + options.ContainerCheckIntervalMs;
    }

    /// <summary>Sessions whose timeout ran out, to be closed by a txn each.</summary>
    public IEnumerable<Session> ExpiredSessions(SessionTracker sessions, long monotonicNow) => sessions.Expire(monotonicNow);

    /// <summary>Containers and TTL nodes to delete now (at most containerMaxPerMinute), once per check interval; empty in between.</summary>
    public IReadOnlyList<string> DueForDeletion(DataTree tree, long monotonicNow, long wallNow)
    {
        if (monotonicNow < _nextSweep)
        {
            return [];
        }

        _nextSweep = monotonicNow + _options.ContainerCheckIntervalMs;
        var candidates = new List<string>();
        foreach (var path in tree.Containers)
        {
            var node = tree.GetNode(path);
            if (node is { ChildCount: 0, Cversion: > 0 }
                || (node is { ChildCount: 0, Cversion: 0 } && _options.ContainerMaxNeverUsedIntervalMs > 0 && wallNow - node.Mtime > _options.ContainerMaxNeverUsedIntervalMs))
            {
                candidates.Add(path);
            }
        }

        foreach (var path in tree.Ttls)
        {
            var node = tree.GetNode(path);
            if (node is { ChildCount: 0 } && wallNow - node.Mtime > EphemeralType.TtlOf(node.EphemeralOwner))
            {
                candidates.Add(path);
            }
        }

        return candidates.Count > _options.ContainerMaxPerMinute ? candidates[.._options.ContainerMaxPerMinute] : candidates;
    }

    /// <summary>Counts an applied txn; true when a snapshot is due (the count then starts again).</summary>
    public bool Applied()
    {
        if (++_txnsSinceSnapshot < _snapshotThreshold)
        {
            return false;
        }

        _txnsSinceSnapshot = 0;
        _snapshotThreshold = NextSnapshotThreshold();
        return true;
    }

    private long NextSnapshotThreshold()
    {
        var half = Math.Max(1, _options.SnapCount / 2);
        return half + _snapshotJitter.Next(half);
    }
}
