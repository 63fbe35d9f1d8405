using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// The sessions this server hosts: the open connections, which connection owns each session,
/// sessions waiting for the leader to revalidate them, the sessions active since the leader's
/// last PING, and each session's order of answers (<see cref="SessionState"/>). Core thread only.
/// </summary>
public sealed class SessionHost
{
    private readonly Dictionary<long, SessionState> _states = new();
    private readonly Dictionary<long, (IClientConnection Connection, int Timeout)> _revalidating = new();
    private readonly HashSet<long> _touched = new();
    private readonly HashSet<IClientConnection> _connections = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyCollection<IClientConnection> Connections => _connections;

    public IEnumerable<SessionState> States => _states.Values;

    public void Accept(IClientConnection connection) => _connections.Add(connection);

    /// <summary>The connection ended: it no longer owns its session, whose unanswered requests are returned to be forgotten.</summary>
    public SessionState? Disconnected(IClientConnection connection)
    {
        _connections.Remove(connection);
        if (connection.SessionId == 0 || Owned(connection, connection.SessionId) is not { } state)
        {
            return null;
        }

        state.Owner = null;
        return state;
    }

    /// <summary>A session hosted here from now on, owned by <paramref name="owner"/> (or by nobody yet, as after a restart).</summary>
    public SessionState Open(long sessionId, IClientConnection? owner, bool awaitingCreate = false)
    {
        var state = new SessionState { Owner = owner, AwaitingCreate = awaitingCreate };
        _states[sessionId] = state;
        return state;
    }

    public SessionState? Get(long sessionId) => _states.GetValueOrDefault(sessionId);

    /// <summary>The session's state when <paramref name="connection"/> owns it; null otherwise (a request of a moved or unknown session).</summary>
    public SessionState? Owned(IClientConnection connection, long sessionId) =>
        _states.TryGetValue(sessionId, out var state) && ReferenceEquals(state.Owner, connection) ? state : null;

    /// <summary>A live session continues on <paramref name="connection"/>; returns the connection that owned it before, to be closed.</summary>
    public IClientConnection? Reattach(long sessionId, IClientConnection connection)
    {
        var state = _states.GetValueOrDefault(sessionId) ?? Open(sessionId, null);
        var previous = state.Owner is { } owner && !ReferenceEquals(owner, connection) ? owner : null;
        state.Owner = connection;
        state.AwaitingCreate = false;
        state.Drop();
        connection.SessionId = sessionId;
        return previous;
    }

    /// <summary>A reconnecting session waits for the leader's word; returns a connection that waited for it before, to be closed.</summary>
    public IClientConnection? AwaitRevalidation(long sessionId, IClientConnection connection, int timeout)
    {
        _revalidating.Remove(sessionId, out var earlier);
        _revalidating[sessionId] = (connection, timeout);
        connection.SessionId = sessionId;
        return earlier.Connection;
    }

    public bool TakeRevalidation(long sessionId, out (IClientConnection Connection, int Timeout) waiting) => _revalidating.Remove(sessionId, out waiting);

    /// <summary>A learner: the session was active here, which the next PING answer reports.</summary>
    public void Touch(long sessionId) => _touched.Add(sessionId);

    /// <summary>The sessions active here since the last report: touched ones, and those with a live connection.</summary>
    public List<long> TakeActive()
    {
        var active = new List<long>(_touched);
        _touched.Clear();
        foreach (var (id, state) in _states)
        {
            if (state.Owner is { IsClosed: false } && !active.Contains(id))
            {
                active.Add(id);
            }
        }

        return active;
    }

    /// <summary>The session closed: it is no longer hosted; returns its state (with its owner, to be closed).</summary>
    public SessionState? Close(long sessionId)
    {
        _touched.Remove(sessionId);
        _states.Remove(sessionId, out var state);
        return state;
    }

    /// <summary>Every session and connection forgotten (the server leaves its role); returns the connections to close.</summary>
    public List<IClientConnection> Clear()
    {
        var connections = _connections.ToList();
        _connections.Clear();
        _states.Clear();
        _revalidating.Clear();
        _touched.Clear();
        return connections;
    }

    /// <summary>On a learner: the local request a committed txn answers (same session and cxid), taken from its session's order.</summary>
    public ClientRequest? TakeForwarded(in TxnHeader header) => _states.TryGetValue(header.ClientId, out var state) ? state.TakeForwarded(header.Cxid) : null;
}

/// <summary>
/// One hosted session: its owning connection and the order of its answers. ZooKeeper answers a
/// session's requests in the order they came: a read waits for the session's earlier writes to be
/// applied, and on a learner for its earlier forwarded requests to come back.
/// </summary>
public sealed class SessionState
{
    private readonly Queue<Entry> _pending = new();

    public IClientConnection? Owner { get; set; }

    /// <summary>On a follower: the session's creation was forwarded and its handshake awaits the commit.</summary>
    public bool AwaitingCreate { get; set; }

    /// <summary>Nothing of the session waits: a read may run at once.</summary>
    public bool IsIdle => _pending.Count == 0;

    /// <summary>Reads and forwarded requests waiting here, which nobody will be answered for once the connection is gone.</summary>
    public int Unanswerable => _pending.Count(e => e.Read is not null || e.Forwarded is not null);

    public void WriteQueued(long zxid) => _pending.Enqueue(new Entry(zxid, null, null));

    public void ReadQueued(ClientRequest read) => _pending.Enqueue(new Entry(0, read, null));

    public void Forwarded(ClientRequest request) => _pending.Enqueue(new Entry(-1, null, request));

    /// <summary>The write at the head was applied: it leaves the order.</summary>
    public void WriteApplied(long zxid)
    {
        if (_pending.TryPeek(out var head) && head.WriteZxid == zxid)
        {
            _pending.Dequeue();
        }
    }

    /// <summary>The read at the head, now free to run; null when a write or a forwarded request is ahead.</summary>
    public ClientRequest? TakeReadyRead()
    {
        if (_pending.TryPeek(out var head) && head.Read is { } read)
        {
            _pending.Dequeue();
            return read;
        }

        return null;
    }

    /// <summary>The forwarded request (not a sync) at the head with this cxid, which a committed txn answers.</summary>
    public ClientRequest? TakeForwarded(int cxid)
    {
        if (_pending.TryPeek(out var head) && head.Forwarded is { } forwarded && forwarded.Type != OpCode.Sync && forwarded.Xid == cxid)
        {
            _pending.Dequeue();
            return forwarded;
        }

        return null;
    }

    /// <summary>The leader answered this forwarded sync and it is at the head: it leaves the order.</summary>
    public bool TakeSync(ClientRequest sync)
    {
        if (_pending.TryPeek(out var head) && ReferenceEquals(head.Forwarded, sync))
        {
            _pending.Dequeue();
            return true;
        }

        return false;
    }

    /// <summary>Nothing waits any more (the log failed, or the session moved to another connection).</summary>
    public void Drop() => _pending.Clear();

    private readonly record struct Entry(long WriteZxid, ClientRequest? Read, ClientRequest? Forwarded);
}
