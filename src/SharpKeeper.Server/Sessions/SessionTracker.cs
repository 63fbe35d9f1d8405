namespace SharpKeeper.Server.Sessions;

/// <summary>
/// Tracks live sessions and expires them in tickTime-wide buckets, as ZooKeeper's expiry queue does:
/// a touch moves the session to the bucket that ends after now + timeout, and each tick expires
/// whole buckets at once. Time comes in as arguments, so the tracker is deterministic.
/// </summary>
public sealed class SessionTracker
{
    private readonly Dictionary<long, Session> _sessions = new();
    private readonly SortedDictionary<long, HashSet<Session>> _buckets = new();
    private readonly int _tickMs;
    private long _nextSessionId;

    public SessionTracker(int tickMs, long serverId, long wallClockMs)
    {
        _tickMs = tickMs;

        // As ZooKeeper: the server id in the top byte, a millisecond timestamp below it.
        var next = (long)((ulong)(wallClockMs << 24) >> 8) | (serverId << 56);
        _nextSessionId = next == Protocol.EphemeralType.ContainerOwner ? next + 1 : next;
    }

    public int Count => _sessions.Count;

    public IReadOnlyCollection<Session> Sessions => _sessions.Values;

    public long NextSessionId() => _nextSessionId++;

    public Session? Get(long id) => _sessions.GetValueOrDefault(id);

    /// <summary>Adds (or re-adds on replay) a session and schedules its expiry.</summary>
    public Session Add(long id, int timeoutMs, long nowMs)
    {
        if (!_sessions.TryGetValue(id, out var session))
        {
            session = new Session(id, timeoutMs);
            _sessions[id] = session;
        }

        session.TimeoutMs = timeoutMs;
        Touch(session, nowMs);
        return session;
    }

    /// <summary>Pushes a session's expiry out; false when it is unknown or already closing.</summary>
    public bool Touch(long id, long nowMs) => _sessions.TryGetValue(id, out var session) && !session.IsClosing && Touch(session, nowMs);

    public void Remove(long id)
    {
        if (_sessions.Remove(id, out var session))
        {
            RemoveFromBucket(session);
        }
    }

    /// <summary>Sessions whose bucket has ended by <paramref name="nowMs"/>; they are marked closing.</summary>
    public List<Session> Expire(long nowMs)
    {
        var expired = new List<Session>();
        while (_buckets.Count > 0)
        {
            var first = _buckets.First();
            if (first.Key > nowMs)
            {
                break;
            }

            _buckets.Remove(first.Key);
            foreach (var session in first.Value)
            {
                session.IsClosing = true;
                expired.Add(session);
            }
        }

        return expired;
    }

    private bool Touch(Session session, long nowMs)
    {
        var bucket = (nowMs + session.TimeoutMs) / _tickMs * _tickMs + _tickMs;
        if (bucket == session.ExpiresAt)
        {
            return true;
        }

        RemoveFromBucket(session);
        session.ExpiresAt = bucket;
        if (!_buckets.TryGetValue(bucket, out var set))
        {
            set = [];
            _buckets[bucket] = set;
        }

        set.Add(session);
        return true;
    }

    private void RemoveFromBucket(Session session)
    {
        if (session.ExpiresAt != 0 && _buckets.TryGetValue(session.ExpiresAt, out var set))
        {
            set.Remove(session);
            if (set.Count == 0)
            {
                _buckets.Remove(session.ExpiresAt);
            }
        }

        session.ExpiresAt = 0;
    }
}
