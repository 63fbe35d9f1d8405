namespace SharpKeeper.Server.Processing;

/// <summary>
/// The most recent committed txns, as serialized for the log and for PROPOSAL packets: the history a
/// leader sends a learner that is only a little behind (DIFF) instead of the whole tree (SNAP). Every
/// ensemble member keeps it, whatever its role, so a follower that becomes leader has it too; at
/// start-up it is seeded with the txns replayed from the log (Apache's committedLog does the same).
/// It holds every committed txn after <see cref="Base"/>, up to <see cref="Capacity"/> of them.
/// Core thread only.
/// </summary>
public sealed class CommittedLog(int capacity)
{
    private readonly Queue<(long Zxid, byte[] Body)> _txns = new();

    /// <summary>How many txns are kept (commitLogCount); 0 keeps none.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>Every committed txn with a zxid above this one is here: a server whose last zxid is this lacks exactly those.</summary>
    public long Base { get; private set; }

    /// <summary>The zxid of the newest txn kept, or <see cref="Base"/> when none is.</summary>
    public long LastZxid { get; private set; }

    public int Count => _txns.Count;

    /// <summary>Starts over after <paramref name="baseZxid"/> (a snapshot installed, a log truncated), with the txns that followed it.</summary>
    public void Reset(long baseZxid, IEnumerable<(long Zxid, byte[] Body)>? txns = null)
    {
        _txns.Clear();
        Base = baseZxid;
        LastZxid = baseZxid;
        foreach (var (zxid, body) in txns ?? [])
        {
            Add(zxid, body);
        }
    }

    /// <summary>A txn was applied; the oldest one is dropped once the log is full.</summary>
    public void Add(long zxid, byte[] body)
    {
        if (zxid <= LastZxid)
        {
            return;
        }

        LastZxid = zxid;
        if (Capacity == 0)
        {
            Base = zxid;
            return;
        }

        _txns.Enqueue((zxid, body));
        if (_txns.Count > Capacity)
        {
            Base = _txns.Dequeue().Zxid;
        }
    }

    public bool Contains(long zxid)
    {
        if (zxid <= Base || zxid > LastZxid)
        {
            return false;
        }

        foreach (var (kept, _) in _txns)
        {
            if (kept >= zxid)
            {
                return kept == zxid;
            }
        }

        return false;
    }

    /// <summary>The newest zxid both a server at <paramref name="zxid"/> and this history share: the base or a kept txn below it.</summary>
    public long LastAtOrBelow(long zxid)
    {
        var found = Base;
        foreach (var (kept, _) in _txns)
        {
            if (kept > zxid)
            {
                break;
            }

            found = kept;
        }

        return found;
    }

    /// <summary>The kept txns after <paramref name="zxid"/>, oldest first.</summary>
    public IEnumerable<(long Zxid, byte[] Body)> After(long zxid)
    {
        foreach (var txn in _txns)
        {
            if (txn.Zxid > zxid)
            {
                yield return txn;
            }
        }
    }
}
