using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Processing;

/// <summary>What the handshake needs of the server it runs in.</summary>
public interface IHandshakeHost
{
    /// <summary>False while an ensemble member has no leader.</summary>
    bool IsServing { get; }

    /// <summary>False once the log failed: no txn, so no new session, can be logged.</summary>
    bool CanLog { get; }

    /// <summary>The last zxid this server has applied: a client that has seen more must go elsewhere.</summary>
    long LastZxid { get; }

    /// <summary>On a learner, the leader that creates and revalidates sessions; null where sessions are owned.</summary>
    IWriteForwarder? Forwarder { get; }

    /// <summary>Serving read-only clients only, cut off from the quorum (readonlymode.enabled).</summary>
    bool IsReadOnly { get; }

    /// <summary>Where new sessions are local (localSessionsEnabled on an ensemble member), their tracker; null where every session is global.</summary>
    SessionTracker? LocalSessions { get; }

    /// <summary>Logs the txn that creates a session owned here; the core answers the handshake once it is applied.</summary>
    void CreateSession(IClientConnection connection, SessionState state, long sessionId, int timeout);

    void SendConnectResponse(IClientConnection connection, ConnectResponse response);

    /// <summary>A connection lost its session to another: its watches go with it.</summary>
    void Forget(IClientConnection connection);
}

/// <summary>
/// How a connection becomes a session's, as ZooKeeper does it: refused while the server has no
/// leader or when the client has seen a later zxid than this server; a new session is created by
/// a txn (logged here, or by the leader for a learner), or lives here alone when it is local; a
/// returning one is checked by its password and liveness (here for a session owned or local here,
/// else by the leader) and moves to the new connection, closing the old one. Core thread only.
/// </summary>
public sealed class ClientHandshake(
    IHandshakeHost host, SessionHost sessions, SessionTracker tracker, CoreOptions options, IClock clock, ILogger logger)
{
    // Connections that arrived while this server had no leader, oldest first, each with its deadline.
    private readonly Queue<(IClientConnection Connection, ConnectRequest Request, long Until)> _waiting = new();

    public void Connect(IClientConnection connection, ConnectRequest request)
    {
        if (!host.IsServing)
        {
            // As ZooKeeper, no session without a leader. Apache closes at once and the client sleeps
            // up to a second before its next try; an election is usually over sooner, so the
            // connection waits here for up to a tick and completes once this server serves.
            _waiting.Enqueue((connection, request, clock.MonotonicMillis + Math.Clamp(options.TickTimeMs, 100, 2000)));
            return;
        }

        if (host.IsReadOnly && !request.ReadOnly)
        {
            // As Apache's read-only server: a client that did not ask for read-only must find a quorum.
            logger.LogInformation("Refusing session request for not-read-only client {Address}", connection.RemoteAddress);
            connection.Close("not a read-only client");
            return;
        }

        sessions.Accept(connection);
        if (request.LastZxidSeen > host.LastZxid)
        {
            logger.LogInformation(
                "Refusing session request for client {Address}: it has seen zxid 0x{Seen:x}, our last zxid is 0x{Ours:x}; the client must try another server",
                connection.RemoteAddress, request.LastZxidSeen, host.LastZxid);
            connection.Close("client is ahead of this server");
            return;
        }

        var timeout = Math.Clamp(request.Timeout, options.MinSessionTimeoutMs, options.MaxSessionTimeoutMs);
        connection.AuthInfo = [.. connection.TransportIds, new Id(AuthProviders.Ip, connection.RemoteAddress)];
        if (request.SessionId == 0)
        {
            Create(connection, timeout);
        }
        else
        {
            Resume(connection, request, timeout);
        }
    }

    /// <summary>The server serves again (a leader, or read-only): the connections that waited are handled in order.</summary>
    public void ServingAgain()
    {
        var count = _waiting.Count;
        for (var i = 0; i < count && host.IsServing; i++)
        {
            var (connection, request, _) = _waiting.Dequeue();
            if (!connection.IsClosed)
            {
                Connect(connection, request);
            }
        }
    }

    /// <summary>Connections that waited a tick without a leader are closed: the client tries another server.</summary>
    public void Tick(long now)
    {
        while (_waiting.TryPeek(out var waiting) && (waiting.Until <= now || waiting.Connection.IsClosed))
        {
            _waiting.Dequeue();
            waiting.Connection.Close("this server is not serving: it has no leader");
        }
    }

    private void Create(IClientConnection connection, int timeout)
    {
        if (!host.CanLog)
        {
            // A new session needs a logged txn; the client should try another server.
            connection.Close("cannot create sessions: the transaction log failed");
            return;
        }

        var id = tracker.NextSessionId();
        connection.SessionId = id;
        if (host.LocalSessions is { } local)
        {
            // As Apache: a local session needs no txn, so the handshake is answered at once.
            local.Add(id, timeout, clock.MonotonicMillis);
            sessions.Open(id, connection);
            host.SendConnectResponse(connection, Accepted(id, timeout, host.IsReadOnly));
            logger.LogInformation("Created new local session 0x{Session:x} for {Address} with timeout {Timeout} ms", id, connection.RemoteAddress, timeout);
            return;
        }

        if (host.Forwarder is { } leader)
        {
            // The leader owns sessions: the session is created by a txn it commits.
            sessions.Open(id, connection, awaitingCreate: true);
            leader.Forward(
                new ClientRequest { Connection = connection, Xid = 0, Type = OpCode.CreateSession, Body = null, CreateTimeout = timeout },
                id);
            logger.LogInformation("Asking the leader for a new session 0x{Session:x} for {Address} with timeout {Timeout} ms", id, connection.RemoteAddress, timeout);
            return;
        }

        tracker.Add(id, timeout, clock.MonotonicMillis);
        host.CreateSession(connection, sessions.Open(id, connection), id, timeout);
        logger.LogInformation("Creating new session 0x{Session:x} for {Address} with timeout {Timeout} ms", id, connection.RemoteAddress, timeout);
    }

    private void Resume(IClientConnection connection, ConnectRequest request, int timeout)
    {
        var sessionId = request.SessionId;
        if (host.LocalSessions?.Get(sessionId) is { IsClosing: false } && SessionPassword.Matches(sessionId, request.Password))
        {
            host.LocalSessions.Add(sessionId, timeout, clock.MonotonicMillis);
            Attach(connection, sessionId, timeout);
            return;
        }

        if (host.IsReadOnly)
        {
            if (tracker.Get(sessionId) is not null)
            {
                // As Apache: a global session is the quorum's to keep alive; renewing it here could
                // outlive its expiry there. The client must find the quorum.
                logger.LogInformation("Refusing global session 0x{Session:x} reconnection in read-only mode from {Address}", sessionId, connection.RemoteAddress);
                connection.Close("global session in read-only mode");
                return;
            }

            Refuse(connection, sessionId);
            return;
        }

        if (host.Forwarder is { } leader)
        {
            // Only the leader knows whether the session is still alive.
            if (!SessionPassword.Matches(sessionId, request.Password))
            {
                Refuse(connection, sessionId);
                return;
            }

            sessions.AwaitRevalidation(sessionId, connection, timeout)?.Close("session moved to a new connection");
            leader.Revalidate(sessionId, timeout);
            return;
        }

        var session = tracker.Get(sessionId);
        if (session is null || session.IsClosing || !SessionPassword.Matches(sessionId, request.Password))
        {
            Refuse(connection, sessionId);
            return;
        }

        tracker.Add(sessionId, timeout, clock.MonotonicMillis);
        Attach(connection, sessionId, timeout);
    }

    /// <summary>A learner hears from the leader whether a reconnecting session is alive.</summary>
    public void Revalidated(long sessionId, bool valid)
    {
        if (!sessions.TakeRevalidation(sessionId, out var waiting) || waiting.Connection.IsClosed)
        {
            return;
        }

        if (!valid)
        {
            Refuse(waiting.Connection, sessionId);
            return;
        }

        if (tracker.Get(sessionId) is null)
        {
            tracker.Add(sessionId, waiting.Timeout, clock.MonotonicMillis);
        }

        sessions.Touch(sessionId);
        Attach(waiting.Connection, sessionId, waiting.Timeout);
    }

    /// <summary>The answer to a handshake whose session now exists (its creating txn applied, or local); it says whether the server is read-only.</summary>
    public static ConnectResponse Accepted(long sessionId, int timeout, bool readOnly = false) =>
        new(0, timeout, sessionId, SessionPassword.For(sessionId), readOnly);

    private void Refuse(IClientConnection connection, long sessionId)
    {
        logger.LogInformation("Invalid session 0x{Session:x} for client {Address}, probably expired", sessionId, connection.RemoteAddress);
        host.SendConnectResponse(connection, new ConnectResponse(0, 0, 0, new byte[SessionPassword.Length], false));
        connection.Close("session expired or password wrong");
    }

    /// <summary>A live session continues on a new connection: the old one, if any, is closed.</summary>
    private void Attach(IClientConnection connection, long sessionId, int timeout)
    {
        if (sessions.Reattach(sessionId, connection) is { } previous)
        {
            previous.Close("session moved to a new connection");
            host.Forget(previous);
        }

        logger.LogInformation("Reconnected session 0x{Session:x} from {Address}", sessionId, connection.RemoteAddress);
        host.SendConnectResponse(connection, Accepted(sessionId, timeout, host.IsReadOnly));
    }
}
