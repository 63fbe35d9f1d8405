using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// The request pipeline of one server: prepare (validate, ACL, build txn) -> log (append, group
/// fsync) -> apply (tree, watches) -> reply, with each session's requests answered in order.
/// A single-threaded state machine fed by <see cref="CoreMessage"/>s: all time, network and disk
/// come in through <see cref="IClock"/>, <see cref="IClientConnection"/> and <see cref="ITxnLog"/>,
/// so tests can drive it deterministically with <see cref="Handle"/> and <see cref="EndBatch"/>.
/// </summary>
public sealed class ServerCore
{
    private readonly Channel<CoreMessage> _inbox = Channel.CreateUnbounded<CoreMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CoreOptions _options;
    private readonly IClock _clock;
    private readonly ITxnLog _log;
    private readonly ILogger _logger;
    private readonly List<(long Zxid, TaskCompletionSource Waiter)> _durableWaiters = [];
    private readonly Queue<ClientRequest> _forwardedSyncs = new();
    private readonly Dictionary<IClientConnection, DigestMd5Server> _saslExchanges = new(ReferenceEqualityComparer.Instance);
    private readonly JuteWriter _scratch = new(1024);
    private PendingChanges _pending;
    private RequestPreparer _preparer;
    private ReadRequestHandler _reads;
    private IReplication _replication;
    private RolePipeline _pipeline;
    private readonly Housekeeping _housekeeping;
    private bool _serving = true;
    private long _durableZxid;
    private long _appendedZxid;
    private readonly SessionHost _sessions = new();
    private readonly Queue<Outstanding> _outstanding = new();
    private readonly HashSet<IClientConnection> _dirty = new(ReferenceEqualityComparer.Instance);
    private long _nextZxid;
    private bool _appended;
    private bool _logFailed;
    private FuzzySnapshot? _snapshot;

    public ServerCore(CoreOptions options, IClock clock, ITxnLog log, ILogger logger, DataTree? tree = null)
    {
        _options = options;
        Throttle = new OutstandingGate(options.GlobalOutstandingLimit);
        _clock = clock;
        _log = log;
        _logger = logger;
        Tree = tree ?? new DataTree();
        Sessions = new SessionTracker(options.TickTimeMs, options.ServerId, clock.WallMillis);
        _pending = new PendingChanges(Tree);
        _preparer = new RequestPreparer(_pending, Tree, options.ExtendedTypesEnabled, options.ProviderSchemes, options.SkipAcl);
        _reads = new ReadRequestHandler(Tree, options.SuperDigest, options.SkipAcl);
        _nextZxid = Tree.LastProcessedZxid + 1;
        _housekeeping = new Housekeeping(options, clock.MonotonicMillis);
        _log.Synced += zxid => Post(new LogSyncedMessage(zxid));
        UsePipeline(new StandaloneReplication(this));
        _durableZxid = Tree.LastProcessedZxid;
        _appendedZxid = _durableZxid;
        Committed = new CommittedLog(options.CommitLogCount);
        Committed.Reset(Tree.LastProcessedZxid);
    }

    public DataTree Tree { get; private set; }

    /// <summary>False while an ensemble member has no leader: connections are refused.</summary>
    public bool IsServing => _serving;

    public IReplication Replication => _replication;

    /// <summary>The highest zxid the local log has reported durable (everything recovered from disk counts).</summary>
    public long LastDurableZxid => _durableZxid;

    /// <summary>
    /// True when every txn appended to the local log up to <paramref name="zxid"/> is durable. A zxid
    /// past the last appended txn needs nothing more: the epoch start that <see cref="TakeRole"/>
    /// counts as processed is no txn and is never written, so waiting for it would never end.
    /// </summary>
    public bool IsDurableThrough(long zxid) => Math.Min(zxid, _appendedZxid) <= _durableZxid;

    /// <summary>
    /// How far this server's history is durable: with nothing appended still awaiting the disk, all
    /// of it, up to the tree's last zxid (an epoch's start counts, though it is never logged).
    /// </summary>
    public long DurableThroughZxid => _appendedZxid <= _durableZxid ? Math.Max(_durableZxid, Tree.LastProcessedZxid) : _durableZxid;

    /// <summary>The highest zxid appended to the local log (durable or about to be).</summary>
    public long LastLoggedZxid => _outstanding.Count > 0 ? Math.Max(_outstanding.Last().Prepared.Header.Zxid, Tree.LastProcessedZxid) : Tree.LastProcessedZxid;
    public SessionTracker Sessions { get; }

    /// <summary>The recent committed txns a leader syncs learners from (empty on a standalone server).</summary>
    public CommittedLog Committed { get; }

    public ServerStats Stats { get; } = new();
    public CoreOptions Options => _options;

    /// <summary>Holds connections back from reading while globalOutstandingLimit requests are unanswered.</summary>
    public OutstandingGate Throttle { get; }
    public IClock Clock => _clock;
    public IReadOnlyCollection<IClientConnection> Connections => _sessions.Connections;
    public int OutstandingTxns => _outstanding.Count;

    /// <summary>Raised on the core thread when enough txns have been applied since the last snapshot.</summary>
    public event Action? SnapshotDue;

    /// <summary>Raised on the core thread when a snapshot begun by <see cref="BeginSnapshot"/> has every node serialized.</summary>
    public event Action<FuzzySnapshot>? SnapshotSerialized;

    public bool IsSnapshotInProgress => _snapshot is not null;

    /// <summary>
    /// Starts a fuzzy snapshot as of the last applied zxid. It is serialized a slice per batch, so
    /// writes go on while it is taken; <see cref="SnapshotSerialized"/> hands it over when complete.
    /// </summary>
    public void BeginSnapshot()
    {
        if (_snapshot is not null)
        {
            throw new InvalidOperationException("a snapshot is already being taken");
        }

        _snapshot = new FuzzySnapshot(Tree, SessionTimeouts());
    }

    /// <summary>True once the log could not be written: the server answers reads and refuses every write.</summary>
    public bool IsLogFailed => _logFailed;

    /// <summary>
    /// The log cannot be written (disk full, read-only, I/O error). Writes in flight may or may not
    /// be on disk, so their clients are disconnected (outcome unknown, as after a crash) rather
    /// than told anything; new writes are refused with NotReadOnly; reads go on. Runs on the core thread.
    /// </summary>
    public void OnLogFailed()
    {
        if (_logFailed)
        {
            return;
        }

        _logFailed = true;
        _logger.LogCritical("The transaction log failed: this server now refuses writes until it is restarted on a working disk");
        while (_outstanding.Count > 0)
        {
            var outstanding = _outstanding.Dequeue();
            outstanding.Connection?.Close("write outcome unknown: the transaction log failed");
        }

        _pending.Clear();
        foreach (var state in _sessions.States)
        {
            state.Drop();
        }
    }

    /// <summary>Brings back the sessions recovered from disk, each with a full timeout from now.</summary>
    public void RestoreSessions(IReadOnlyDictionary<long, int> sessions)
    {
        var now = _clock.MonotonicMillis;
        foreach (var (id, timeout) in sessions)
        {
            Sessions.Add(id, timeout, now);
            _sessions.Open(id, null);
        }
    }

    /// <summary>Session ids and timeouts as a snapshot records them.</summary>
    public Dictionary<long, int> SessionTimeouts() => Sessions.Sessions.ToDictionary(s => s.Id, s => s.TimeoutMs);

    public void Post(CoreMessage message) => _inbox.Writer.TryWrite(message);

    /// <summary>Runs a function on the core thread and returns its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> function)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new InvokeMessage(() =>
        {
            try
            {
                completion.SetResult(function());
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        }));
        return completion.Task;
    }

    /// <summary>Processes messages until cancelled, in batches: one log flush and one socket flush per batch.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var ticker = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(_options.TickTimeMs / 2, 10, 1000)));
        _ = TickLoopAsync(ticker, cancellationToken);
        var reader = _inbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    Handle(message);
                }

                EndBatch();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task TickLoopAsync(PeriodicTimer ticker, CancellationToken cancellationToken)
    {
        try
        {
            while (await ticker.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Post(TickMessage.Instance);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Handle(CoreMessage message)
    {
        try
        {
            switch (message)
            {
                case RequestMessage m:
                    OnRequest(m.Request);
                    break;
                case LogSyncedMessage m:
                    OnSynced(m.Zxid);
                    break;
                case ConnectMessage m:
                    OnConnect(m.Connection, m.Request);
                    break;
                case ConnectionClosedMessage m:
                    OnConnectionClosed(m.Connection);
                    break;
                case TickMessage:
                    OnTick();
                    break;
                case ReplicationEvent m:
                    m.Apply(this);
                    break;
                case InvokeMessage m:
                    m.Action();
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in handling one message must not take the server down; the connection involved is closed.
            _logger.LogError(e, "Unexpected error handling {Message}", message.GetType().Name);
            (message as RequestMessage)?.Request.Connection?.Close("internal error");
        }
    }

    /// <summary>Ends a batch: asks the log for one group commit and pushes every touched connection's replies out.</summary>
    public void EndBatch()
    {
        if (_appended)
        {
            _appended = false;
            _log.Flush();
        }

        foreach (var connection in _dirty)
        {
            connection.Flush();
        }

        _dirty.Clear();
        ContinueSnapshot();
    }

    private void ContinueSnapshot()
    {
        if (_snapshot is null)
        {
            return;
        }

        if (!_snapshot.Step(_options.SnapshotSliceNodes))
        {
            // Keeps the loop turning when no other message would end a batch.
            Post(SnapshotSliceMessage.Instance);
            return;
        }

        var snapshot = _snapshot;
        _snapshot = null;
        SnapshotSerialized?.Invoke(snapshot);
    }

    /// <summary>Marks a connection as having replies to flush at the end of this batch (core thread only).</summary>
    public void MarkDirty(IClientConnection connection) => _dirty.Add(connection);

    private void OnConnect(IClientConnection connection, ConnectRequest request)
    {
        Stats.ConnectionRequests.Increment();
        Stats.PacketReceived();
        if (!_serving)
        {
            // As ZooKeeper without a leader: the client must try another server.
            connection.Close("this server is not serving: it has no leader");
            return;
        }

        _sessions.Accept(connection);
        if (request.LastZxidSeen > Tree.LastProcessedZxid)
        {
            _logger.LogInformation(
                "Refusing session request for client {Address}: it has seen zxid 0x{Seen:x}, our last zxid is 0x{Ours:x}; the client must try another server",
                connection.RemoteAddress, request.LastZxidSeen, Tree.LastProcessedZxid);
            connection.Close("client is ahead of this server");
            return;
        }

        var timeout = Math.Clamp(request.Timeout, _options.MinSessionTimeoutMs, _options.MaxSessionTimeoutMs);
        connection.AuthInfo = [.. connection.TransportIds, new Id(AuthProviders.Ip, connection.RemoteAddress)];
        var now = _clock.MonotonicMillis;

        if (request.SessionId == 0 && _logFailed)
        {
            // A new session needs a logged txn; the client should try another server.
            connection.Close("cannot create sessions: the transaction log failed");
            return;
        }

        if (request.SessionId == 0 && _pipeline.Forwarder is { } creator)
        {
            // The leader owns sessions: the session is created by a txn it commits.
            var id = Sessions.NextSessionId();
            _sessions.Open(id, connection, awaitingCreate: true);
            connection.SessionId = id;
            creator.Forward(
                new ClientRequest { Connection = connection, Xid = 0, Type = OpCode.CreateSession, Body = null, CreateTimeout = timeout },
                id);
            _logger.LogInformation("Asking the leader for a new session 0x{Session:x} for {Address} with timeout {Timeout} ms", id, connection.RemoteAddress, timeout);
            return;
        }

        if (request.SessionId != 0 && _pipeline.Forwarder is { } checker)
        {
            // Only the leader knows whether the session is still alive.
            if (!SessionPassword.Matches(request.SessionId, request.Password))
            {
                RefuseSession(connection, request.SessionId);
                return;
            }

            _sessions.AwaitRevalidation(request.SessionId, connection, timeout)?.Close("session moved to a new connection");
            checker.Revalidate(request.SessionId, timeout);
            return;
        }

        if (request.SessionId == 0)
        {
            var id = Sessions.NextSessionId();
            Sessions.Add(id, timeout, now);
            var state = _sessions.Open(id, connection);
            connection.SessionId = id;
            var header = new TxnHeader(id, 0, _nextZxid++, _clock.WallMillis, OpCode.CreateSession);
            var prepared = new PreparedTxn(header, new CreateSessionTxn(timeout), []);
            Append(prepared, null, connection);
            state.WriteQueued(header.Zxid);
            _logger.LogInformation("Creating new session 0x{Session:x} for {Address} with timeout {Timeout} ms", id, connection.RemoteAddress, timeout);
            return;
        }

        var session = Sessions.Get(request.SessionId);
        var valid = session is not null && !session.IsClosing && SessionPassword.Matches(request.SessionId, request.Password);
        if (!valid)
        {
            RefuseSession(connection, request.SessionId);
            return;
        }

        Sessions.Add(request.SessionId, timeout, now);
        AttachSession(connection, request.SessionId, timeout);
    }

    private void RefuseSession(IClientConnection connection, long sessionId)
    {
        _logger.LogInformation("Invalid session 0x{Session:x} for client {Address}, probably expired", sessionId, connection.RemoteAddress);
        Send(connection, c => c.SendConnectResponse(new ConnectResponse(0, 0, 0, new byte[SessionPassword.Length], false)));
        connection.Close("session expired or password wrong");
    }

    /// <summary>A live session continues on a new connection: the old one, if any, is closed.</summary>
    private void AttachSession(IClientConnection connection, long sessionId, int timeout)
    {
        if (_sessions.Reattach(sessionId, connection) is { } previous)
        {
            previous.Close("session moved to a new connection");
            Tree.RemoveWatcher(previous);
        }

        _logger.LogInformation("Reconnected session 0x{Session:x} from {Address}", sessionId, connection.RemoteAddress);
        Send(connection, c => c.SendConnectResponse(new ConnectResponse(0, timeout, sessionId, SessionPassword.For(sessionId), false)));
    }

    /// <summary>A follower hears from the leader whether a reconnecting session is alive.</summary>
    public void OnRevalidated(long sessionId, bool valid)
    {
        if (!_sessions.TakeRevalidation(sessionId, out var waiting) || waiting.Connection.IsClosed)
        {
            return;
        }

        if (!valid)
        {
            RefuseSession(waiting.Connection, sessionId);
            return;
        }

        if (Sessions.Get(sessionId) is null)
        {
            Sessions.Add(sessionId, waiting.Timeout, _clock.MonotonicMillis);
        }

        _sessions.Touch(sessionId);
        AttachSession(waiting.Connection, sessionId, waiting.Timeout);
    }

    private void OnRequest(ClientRequest request)
    {
        Stats.PacketReceived();
        var connection = request.Connection!;
        request.SessionId = connection.SessionId;
        if (connection.IsClosed || _sessions.Owned(connection, request.SessionId) is not { } state)
        {
            return;
        }

        if (!Sessions.Touch(request.SessionId, _clock.MonotonicMillis))
        {
            // As ZooKeeper: a request of a session that is closing is dropped unanswered (answering it
            // now would overtake the session's earlier replies); the connection closes with the session.
            _logger.LogDebug("Dropping request of closing session 0x{Session:x}", request.SessionId);
            return;
        }

        connection.Stats.Outstanding++;
        Stats.OutstandingRequests++;
        Throttle.Set(Stats.OutstandingRequests);

        if (request.Type == OpCode.Check)
        {
            // As ZooKeeper: check is only valid inside a multi; alone it is an unknown request,
            // answered with Unimplemented (zxid -1, the request's unset zxid) and the connection closed.
            Reply(request, ErrorCode.Unimplemented, null, -1);
            connection.Close("check is only valid inside a multi");
            return;
        }

        if (_options.EnforcedAuthSchemes is { } required && request.Type is not (OpCode.Auth or OpCode.Sasl)
            && !IsAuthenticatedWithAny(connection, required))
        {
            // As Apache's AuthenticationHelper: the reply says authentication is required, then the connection closes.
            _logger.LogError(
                "Client {Address} authenticated with {Schemes}, none of the required {Required}; closing its connection",
                connection.RemoteAddress, string.Join(",", connection.AuthInfo.Select(id => id.Scheme).Distinct()), string.Join(",", required));
            Reply(request, ErrorCode.SessionClosedRequireSaslAuth, null, 0);
            connection.Close("authentication required");
            return;
        }

        if (_logFailed && request.IsWrite)
        {
            // Refused in order with the session's other requests.
            if (state.IsIdle)
            {
                Reply(request, ErrorCode.NotReadOnly, null, Tree.LastProcessedZxid);
            }
            else
            {
                state.ReadQueued(request);
            }

            return;
        }

        if (_pipeline.Forwarder is { } forwarder && (request.IsWrite || request.Type == OpCode.Sync))
        {
            if (request.Type == OpCode.CloseSession)
            {
                Sessions.Get(request.SessionId)!.IsClosing = true;
            }

            if (request.Type == OpCode.Sync)
            {
                _forwardedSyncs.Enqueue(request);
            }

            _sessions.Touch(request.SessionId);
            state.Forwarded(request);
            forwarder.Forward(request, request.SessionId);
            return;
        }

        if (!_pipeline.OwnsSessions)
        {
            _sessions.Touch(request.SessionId);
        }

        if (request.Type == OpCode.CloseSession)
        {
            var session = Sessions.Get(request.SessionId)!;
            session.IsClosing = true;
            var close = _preparer.PrepareCloseSession(request.SessionId, _nextZxid++, _clock.WallMillis);
            var prepared = close with { Header = close.Header with { Cxid = request.Xid } };
            Append(prepared, request, connection);
            state.WriteQueued(prepared.Header.Zxid);
            return;
        }

        if (request.IsWrite)
        {
            var prepared = _preparer.Prepare(request, _nextZxid++, _clock.WallMillis, connection.AuthInfo);
            Append(prepared, request, connection);
            state.WriteQueued(prepared.Header.Zxid);
            return;
        }

        if (state.IsIdle)
        {
            ExecuteRead(request);
        }
        else
        {
            state.ReadQueued(request);
        }
    }

    private void Append(PreparedTxn prepared, ClientRequest? request, IClientConnection? connection)
    {
        byte[]? body = null;
        if (_pipeline.Proposer is { } proposer)
        {
            // One serialization serves the log, the proposal sent to every learner and the committed log.
            TxnLogFormat.WriteBody(_scratch, prepared.Header, prepared.Txn);
            body = _scratch.WrittenSpan.ToArray();
            _log.Append(prepared.Header, prepared.Txn, body);
            proposer.Proposed(prepared.Header.Zxid, body);
        }
        else
        {
            _log.Append(prepared.Header, prepared.Txn);
        }

        _outstanding.Enqueue(new Outstanding(prepared, request, connection, body));
        _appendedZxid = prepared.Header.Zxid;
        _appended = true;
    }

    private void OnSynced(long zxid)
    {
        _durableZxid = Math.Max(_durableZxid, zxid);
        for (var i = _durableWaiters.Count - 1; i >= 0; i--)
        {
            if (_durableWaiters[i].Zxid <= _durableZxid)
            {
                _durableWaiters[i].Waiter.TrySetResult();
                _durableWaiters.RemoveAt(i);
            }
        }

        _replication.LocallyDurable(DurableThroughZxid);
    }

    /// <summary>Applies every txn appended so far up to <paramref name="zxid"/>, in order, and answers their clients.</summary>
    public void Commit(long zxid)
    {
        var snapshotDue = false;
        while (_outstanding.Count > 0 && _outstanding.Peek().Prepared.Header.Zxid <= zxid)
        {
            var outstanding = _outstanding.Dequeue();
            var prepared = outstanding.Prepared;
            var result = Tree.ProcessTxn(prepared.Header, prepared.Txn);
            _pending.Applied(prepared.Header.Zxid, prepared.Touched);
            if (outstanding.Body is { } body)
            {
                Committed.Add(prepared.Header.Zxid, body);
            }

            Complete(outstanding, result);
            snapshotDue |= _housekeeping.Applied();
        }

        if (snapshotDue)
        {
            SnapshotDue?.Invoke();
        }
    }

    private void Complete(Outstanding outstanding, ProcessTxnResult result)
    {
        var header = outstanding.Prepared.Header;
        var sessionId = header.ClientId;
        var request = outstanding.Request ?? _sessions.TakeForwarded(header);
        switch (header.Type)
        {
            case OpCode.CreateSession:
                {
                    var timeout = ((CreateSessionTxn)outstanding.Prepared.Txn).Timeout;
                    if (Sessions.Get(sessionId) is null)
                    {
                        // Created elsewhere (or forwarded from here): every server tracks every session.
                        Sessions.Add(sessionId, timeout, _clock.MonotonicMillis);
                    }

                    var connection = outstanding.Connection;
                    if (connection is null && _sessions.Get(sessionId) is { AwaitingCreate: true } created)
                    {
                        created.AwaitingCreate = false;
                        connection = created.Owner;
                    }

                    if (connection is { IsClosed: false })
                    {
                        SendConnectResponse(connection, sessionId, timeout);
                    }

                    break;
                }

            case OpCode.CloseSession:
                {
                    Sessions.Remove(sessionId);
                    var state = _sessions.Close(sessionId);
                    if (request is not null)
                    {
                        Reply(request, ErrorCode.Ok, null, header.Zxid);
                    }

                    if (state?.Owner is { } owner)
                    {
                        owner.Close(request is null ? "session expired" : "client closed the session");
                        Tree.RemoveWatcher(owner);
                    }

                    if (state is not null || _pipeline.OwnsSessions)
                    {
                        _logger.LogInformation(request is null ? "Expired session 0x{Session:x}" : "Closed session 0x{Session:x}", sessionId);
                    }

                    return;
                }

            default:
                if (request is { } writeRequest)
                {
                    var (err, body) = WriteResponses.For(writeRequest.Type, header.Type, result);
                    Reply(writeRequest, err, body, header.Zxid);
                }

                break;
        }

        if (_sessions.Get(sessionId) is { } owningState)
        {
            owningState.WriteApplied(header.Zxid);
            DrainReads(owningState);
        }
    }

    // Its own method: a lambda in Complete capturing sessionId would allocate a closure on every call.
    private void SendConnectResponse(IClientConnection connection, long sessionId, int timeout) =>
        Send(connection, c => c.SendConnectResponse(new ConnectResponse(0, timeout, sessionId, SessionPassword.For(sessionId), false)));

    /// <summary>On a follower: the leader answered the oldest forwarded sync (after every write before it committed).</summary>
    public void OnSyncReply()
    {
        if (!_forwardedSyncs.TryDequeue(out var sync))
        {
            _logger.LogWarning("The leader answered a sync this server did not forward");
            return;
        }

        if (_sessions.Get(sync.SessionId) is { } state && state.TakeSync(sync))
        {
            ExecuteRead(sync);
            DrainReads(state);
        }
    }

    private void DrainReads(SessionState state)
    {
        while (state.TakeReadyRead() is { } read)
        {
            ExecuteRead(read);
        }
    }

    private void ExecuteRead(ClientRequest request)
    {
        var connection = request.Connection!;
        if (request.IsWrite)
        {
            Reply(request, ErrorCode.NotReadOnly, null, Tree.LastProcessedZxid);
            return;
        }

        if (request.Type == OpCode.Sasl)
        {
            Authenticate(request, connection);
            return;
        }

        var outcome = _reads.Execute(request, connection);

        // ZooKeeper answers auth with zxid 0; everything else carries the last applied zxid.
        Reply(request, outcome.Err, outcome.Body, request.Type == OpCode.Auth ? 0 : Tree.LastProcessedZxid);
        if (outcome.CloseConnection)
        {
            connection.Close("authentication failed");
        }
    }

    private static bool IsAuthenticatedWithAny(IClientConnection connection, IReadOnlySet<string> schemes)
    {
        foreach (var id in connection.AuthInfo)
        {
            if (schemes.Contains(id.Scheme))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// One step of a SASL DIGEST-MD5 exchange (as Apache's processSasl: zxid 0 in the reply). The
    /// completed exchange adds the sasl id (and super for zookeeper.superUser); a failed one, or SASL
    /// on a server without it, is answered AUTHFAILED and the connection closed.
    /// </summary>
    private void Authenticate(ClientRequest request, IClientConnection connection)
    {
        if (_options.SaslUsers is not { } users)
        {
            _logger.LogWarning("Client {Address} asked for SASL authentication, which is not configured here (java.security.auth.login.config)", connection.RemoteAddress);
            Reply(request, ErrorCode.AuthFailed, new SaslResponse(null), 0);
            connection.Close("SASL is not configured");
            return;
        }

        if (!_saslExchanges.TryGetValue(connection, out var exchange))
        {
            exchange = new DigestMd5Server(name => users.GetValueOrDefault(name));
            _saslExchanges[connection] = exchange;
        }

        try
        {
            var token = exchange.Evaluate(request.SaslToken ?? []);
            if (exchange.AuthorizationId is { } user)
            {
                _saslExchanges.Remove(connection);
                var ids = new List<Id> { new(AuthProviders.Sasl, user) };
                if (_options.SaslSuperUser == user)
                {
                    ids.Add(new Id(AuthProviders.Super, ""));
                }

                connection.AuthInfo = [.. ids, .. connection.AuthInfo.Where(id => !ids.Contains(id))];
                _logger.LogInformation("Client {Address} authenticated with SASL DIGEST-MD5 as {User}", connection.RemoteAddress, user);
            }

            Reply(request, ErrorCode.Ok, new SaslResponse(token), 0);
        }
        catch (SaslFailure e)
        {
            _saslExchanges.Remove(connection);
            _logger.LogWarning("Client {Address} failed to SASL authenticate: {Reason}", connection.RemoteAddress, e.Message);
            var saslRequired = _options.EnforcedAuthSchemes?.Contains(AuthProviders.Sasl) == true;
            if (_options.AllowSaslFailedClients && !saslRequired)
            {
                // As Apache with allowSaslFailedClients: the client stays, unauthenticated.
                _logger.LogWarning("Keeping client {Address} connected despite its SASL failure (allowSaslFailedClients)", connection.RemoteAddress);
                Reply(request, ErrorCode.Ok, new SaslResponse(null), 0);
                return;
            }

            Reply(request, saslRequired ? ErrorCode.SessionClosedRequireSaslAuth : ErrorCode.AuthFailed, new SaslResponse(null), 0);
            connection.Close("SASL authentication failed");
        }
    }

    private void Reply(ClientRequest request, ErrorCode err, Response? body, long zxid)
    {
        var connection = request.Connection;
        Stats.OutstandingRequests--;
        Throttle.Set(Stats.OutstandingRequests);
        if (connection is null || connection.IsClosed)
        {
            return;
        }

        var latency = Math.Max(0, _clock.MonotonicMillis - request.ReceivedMonotonicMillis);
        connection.Stats.Outstanding--;
        if (request.Xid >= 0)
        {
            // As ZooKeeper: pings, auth and setWatches (negative xids) do not count as the last request.
            connection.Stats.LastCxid = request.Xid;
        }

        connection.Stats.LastZxid = zxid;
        connection.Stats.LastOperation = Operations.ShortName(request.Type);
        connection.Stats.LastResponseWallMillis = _clock.WallMillis;
        connection.Stats.RecordLatency(latency);
        Stats.RecordLatency(latency, request.IsWrite);
        Stats.PacketSent();
        connection.Stats.PacketSent();
        if (err == ErrorCode.AuthFailed)
        {
            Stats.AuthFailures.Increment();
        }

        var header = new ReplyHeader(request.Xid, zxid, err);
        Stats.RecordResponseSize(connection.SendReply(header, err == ErrorCode.Ok ? body : null));
        _dirty.Add(connection);
    }

    private void Send(IClientConnection connection, Action<IClientConnection> send)
    {
        if (connection.IsClosed)
        {
            return;
        }

        send(connection);
        Stats.PacketSent();
        connection.Stats.PacketSent();
        _dirty.Add(connection);
    }

    // ---- Ensemble roles (all on the core thread) ----

    /// <summary>
    /// Leaves the current role: clients are disconnected, and every txn already in the local log is
    /// applied, so the tree is this server's whole history (what an election compares). Returns the
    /// last zxid.
    /// </summary>
    public long StepDown()
    {
        _serving = false;
        foreach (var connection in _sessions.Clear())
        {
            connection.Close("this server is looking for a leader");
            Tree.RemoveWatcher(connection);
        }

        _forwardedSyncs.Clear();
        if (_outstanding.Count > 0)
        {
            Commit(_outstanding.Last().Prepared.Header.Zxid);
        }

        _pending.Clear();
        UsePipeline(new StandaloneReplication(this));

        // Every connection is closed: no request is left to answer.
        Stats.OutstandingRequests = 0;
        Throttle.Set(0);
        return Tree.LastProcessedZxid;
    }

    /// <summary>Takes a role in an ensemble and starts serving; a leader starts its zxids at <paramref name="nextZxid"/>.</summary>
    public void TakeRole(IReplication replication, long? nextZxid, long epochStartZxid)
    {
        UsePipeline(replication);
        if (nextZxid is { } zxid)
        {
            _nextZxid = zxid;
        }

        // As Apache: the new epoch's first zxid counts as processed, so clients that saw it from
        // any server of this epoch may reconnect to any other.
        Tree.LastProcessedZxid = Math.Max(Tree.LastProcessedZxid, epochStartZxid);

        // Every session gets a full timeout under the new leader, as ZooKeeper does.
        var now = _clock.MonotonicMillis;
        foreach (var session in Sessions.Sessions.ToList())
        {
            Sessions.Add(session.Id, session.TimeoutMs, now);
        }

        _serving = true;
    }

    /// <summary>A follower stops serving without leaving its role (before it is up to date).</summary>
    public void SetReplication(IReplication replication) => UsePipeline(replication);

    /// <summary>The role's pipeline, composed from what its replication does (see <see cref="RolePipeline"/>).</summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_replication), nameof(_pipeline))]
    private void UsePipeline(IReplication replication)
    {
        _replication = replication;
        _pipeline = RolePipeline.Of(replication);
    }

    /// <summary>A follower logs a txn the leader proposed; it is applied when the leader commits it.</summary>
    public void AcceptProposal(in TxnHeader header, Txn txn, byte[] body)
    {
        if (header.Zxid <= LastLoggedZxid)
        {
            _logger.LogWarning("Ignoring proposal 0x{Zxid:x}: already logged through 0x{Last:x}", header.Zxid, LastLoggedZxid);
            return;
        }

        var prepared = new PreparedTxn(header, txn, []);
        _log.Append(header, txn, body);
        _outstanding.Enqueue(new Outstanding(prepared, null, null, body));
        _appendedZxid = header.Zxid;
        _appended = true;
    }

    /// <summary>Completes once the local log is durable through <paramref name="zxid"/> (see <see cref="IsDurableThrough"/>).</summary>
    public Task WaitDurableAsync(long zxid)
    {
        if (IsDurableThrough(zxid))
        {
            return Task.CompletedTask;
        }

        zxid = Math.Min(zxid, _appendedZxid);

        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _durableWaiters.Add((zxid, waiter));
        return waiter.Task;
    }

    /// <summary>Replaces the whole tree (a follower that received a snapshot or truncated its log).</summary>
    public void ReplaceTree(DataTree tree, IReadOnlyDictionary<long, int> sessions)
    {
        _outstanding.Clear();
        Tree = tree;
        _pending = new PendingChanges(Tree);
        _preparer = new RequestPreparer(_pending, Tree, _options.ExtendedTypesEnabled, _options.ProviderSchemes, _options.SkipAcl);
        _reads = new ReadRequestHandler(Tree, _options.SuperDigest, _options.SkipAcl);
        var now = _clock.MonotonicMillis;
        foreach (var session in Sessions.Sessions.ToList())
        {
            Sessions.Remove(session.Id);
        }

        foreach (var (id, timeout) in sessions)
        {
            Sessions.Add(id, timeout, now);
        }

        // The caller has made the new tree durable (a snapshot written) before handing it over.
        _durableZxid = Tree.LastProcessedZxid;
        _appendedZxid = _durableZxid;

        // What the history held is older than the new tree or was cut off; a caller that recovered
        // from its own log seeds it again.
        Committed.Reset(Tree.LastProcessedZxid);
    }

    /// <summary>A leader handles a request a follower forwarded: it is prepared and proposed; the follower answers its client.</summary>
    public void OnForwardedRequest(ClientRequest request)
    {
        Stats.PacketReceived();
        var sessionId = request.SessionId;
        switch (request.Type)
        {
            case OpCode.CreateSession:
                {
                    var timeout = Math.Clamp(request.CreateTimeout, _options.MinSessionTimeoutMs, _options.MaxSessionTimeoutMs);
                    Sessions.Add(sessionId, timeout, _clock.MonotonicMillis);
                    var header = new TxnHeader(sessionId, 0, _nextZxid++, _clock.WallMillis, OpCode.CreateSession);
                    var prepared = new PreparedTxn(header, new CreateSessionTxn(timeout), []);
                    Append(prepared, null, null);
                    return;
                }

            case OpCode.CloseSession:
                {
                    if (Sessions.Get(sessionId) is { } session)
                    {
                        session.IsClosing = true;
                    }

                    var close = _preparer.PrepareCloseSession(sessionId, _nextZxid++, _clock.WallMillis);
                    var prepared = close with { Header = close.Header with { Cxid = request.Xid } };
                    Append(prepared, null, null);
                    return;
                }

            default:
                {
                    Sessions.Touch(sessionId, _clock.MonotonicMillis);
                    var prepared = _preparer.Prepare(request, _nextZxid++, _clock.WallMillis, request.ForwardedAuth ?? []);
                    Append(prepared, null, null);
                    return;
                }
        }
    }

    /// <summary>A leader hears that a session is active on a follower.</summary>
    public void TouchSession(long sessionId) => Sessions.Touch(sessionId, _clock.MonotonicMillis);

    /// <summary>A leader answers whether a session reconnecting to a follower is alive (and renews it if so).</summary>
    public bool RevalidateSession(long sessionId, int timeout)
    {
        var session = Sessions.Get(sessionId);
        if (session is null || session.IsClosing)
        {
            return false;
        }

        Sessions.Add(sessionId, timeout, _clock.MonotonicMillis);
        return true;
    }

    /// <summary>A follower reports the sessions active here since the last report, with their timeouts.</summary>
    public List<(long SessionId, int Timeout)> TakeTouchedSessions()
    {
        // Sessions with a connection here stay alive even when idle between the client's pings.
        var touched = new List<(long, int)>();
        foreach (var id in _sessions.TakeActive())
        {
            if (Sessions.Get(id) is { } session)
            {
                touched.Add((id, session.TimeoutMs));
            }
        }

        return touched;
    }

    private void OnConnectionClosed(IClientConnection connection)
    {
        connection.Close("connection ended");
        _saslExchanges.Remove(connection);
        _dirty.Remove(connection);
        Tree.RemoveWatcher(connection);
        if (_sessions.Disconnected(connection) is { } state)
        {
            ForgetUnanswered(state);
            state.Drop();
        }
    }

    /// <summary>
    /// Reads and forwarded requests queued behind a session's writes will not be answered once its
    /// connection is gone: they leave the outstanding count (queued writes are answered, to nobody,
    /// when they commit), so that globalOutstandingLimit never holds back on requests no one waits for.
    /// </summary>
    private void ForgetUnanswered(SessionState state)
    {
        var unanswered = state.Unanswerable;
        if (unanswered > 0)
        {
            Stats.OutstandingRequests = Math.Max(0, Stats.OutstandingRequests - unanswered);
            Throttle.Set(Stats.OutstandingRequests);
        }
    }

    private void OnTick()
    {
        var now = _clock.MonotonicMillis;
        if (_logFailed)
        {
            // Expiring a session needs a logged txn; sessions wait until the disk is fixed and the server restarted.
            return;
        }

        _replication.OnTick(now);
        if (!_serving || !_pipeline.OwnsSessions)
        {
            return;
        }

        foreach (var session in _housekeeping.ExpiredSessions(Sessions, now))
        {
            _logger.LogInformation("Expiring session 0x{Session:x}, timeout of {Timeout} ms exceeded", session.Id, session.TimeoutMs);
            var prepared = _preparer.PrepareCloseSession(session.Id, _nextZxid++, _clock.WallMillis);
            Append(prepared, null, null);
        }

        var wallNow = _clock.WallMillis;
        foreach (var path in _housekeeping.DueForDeletion(Tree, now, wallNow))
        {
            var request = new ClientRequest
            {
                Connection = null,
                SessionId = 0,
                Xid = 0,
                Type = OpCode.DeleteContainer,
                Body = new PathVersionRequest(path, -1),
            };
            Append(_preparer.Prepare(request, _nextZxid++, wallNow, []), null, null);
        }
    }

    /// <summary>A txn handed to the log, waiting to be committed; <paramref name="Body"/> is its serialized form on an ensemble member (kept in <see cref="Committed"/> once applied).</summary>
    private sealed record Outstanding(PreparedTxn Prepared, ClientRequest? Request, IClientConnection? Connection, byte[]? Body);
}
