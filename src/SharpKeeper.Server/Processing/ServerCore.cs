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
/// It routes each message to its part and batches their output: <see cref="ClientHandshake"/>
/// and <see cref="SessionHost"/> (who owns a session, each session's order of answers),
/// <see cref="TxnPipeline"/> (append, durable, apply), <see cref="Housekeeping"/> (expiry, sweeps,
/// snapshot cadence), <see cref="SaslAuthentication"/>, and the role's <see cref="RolePipeline"/>.
/// </summary>
public sealed class ServerCore
{
    private readonly CoreExecutor _executor;
    private const int InlineSendConnections = 2;
    private const int InlineApplyTxns = 4;
    // The last zxid the log reported durable; read and written by the log's sync thread only.
    private long _lastSyncedSeen;
    private readonly CoreOptions _options;
    private readonly IClock _clock;
    private readonly ILogger _logger;
    // A follower's syncs in the order the leader answers them: its clients' and its observers' (an Action).
    private readonly Queue<object> _forwardedSyncs = new();
    private readonly Dictionary<long, int> _learnerTouches = [];
    private readonly SaslAuthentication _sasl;
    private PendingChanges _pending;
    private RequestPreparer _preparer;
    private ReadRequestHandler _reads;
    private IReplication _replication;
    private RolePipeline _pipeline;
    private readonly Housekeeping _housekeeping;
    private readonly TxnPipeline _txns;
    private bool _serving = true;
    private bool _readOnly;
    private (byte[] Text, long Version)? _quorumConfig;
    private readonly SessionHost _sessions = new();
    private readonly ClientHandshake _handshake;
    private readonly HashSet<IClientConnection> _dirty = new(ReferenceEqualityComparer.Instance);
    private bool _logFailed;
    private FuzzySnapshot? _snapshot;
    private Action? _resumeSnapshot;

    public ServerCore(CoreOptions options, IClock clock, ITxnLog log, ILogger logger, DataTree? tree = null)
    {
        _options = options;
        _executor = new CoreExecutor(Handle, EndBatch);
        Throttle = new OutstandingGate(options.GlobalOutstandingLimit);
        _clock = clock;
        _logger = logger;
        Tree = tree ?? new DataTree();
        Sessions = new SessionTracker(options.TickTimeMs, options.ServerId, clock.WallMillis);
        LocalSessions = NewLocalSessions();
        _pending = new PendingChanges(Tree);
        _preparer = new RequestPreparer(_pending, Tree, options.ExtendedTypesEnabled, options.ProviderSchemes, options.SkipAcl, options.ReconfigEnabled);
        _reads = new ReadRequestHandler(Tree, options.SuperDigest, options.SkipAcl);
        _txns = new TxnPipeline(log, Tree, _pending, options.CommitLogCount);
        _housekeeping = new Housekeeping(options, clock.MonotonicMillis);
        log.Synced += OnLogSynced;
        UsePipeline(new StandaloneReplication(this));
        _sasl = new SaslAuthentication(options, logger);
        _handshake = new ClientHandshake(new HandshakeHost(this), _sessions, Sessions, options, clock, logger);
    }

    public DataTree Tree { get; private set; }

    /// <summary>False while an ensemble member has no leader: connections are refused.</summary>
    public bool IsServing => _serving;

    public IReplication Replication => _replication;

    /// <summary>True while an ensemble member cut off from its quorum serves read-only clients (readonlymode.enabled).</summary>
    public bool IsReadOnly => _readOnly;

    /// <summary>The txns between prepare and reply: what is logged, durable and committed.</summary>
    public TxnPipeline Txns => _txns;

    /// <inheritdoc cref="TxnPipeline.LastDurableZxid"/>
    public long LastDurableZxid => _txns.LastDurableZxid;

    /// <inheritdoc cref="TxnPipeline.IsDurableThrough"/>
    public bool IsDurableThrough(long zxid) => _txns.IsDurableThrough(zxid);

    /// <inheritdoc cref="TxnPipeline.DurableThroughZxid"/>
    public long DurableThroughZxid => _txns.DurableThroughZxid;

    /// <inheritdoc cref="TxnPipeline.LastLoggedZxid"/>
    public long LastLoggedZxid => _txns.LastLoggedZxid;
    /// <summary>Global sessions: created and closed by txns, known to every server of an ensemble.</summary>
    public SessionTracker Sessions { get; }

    /// <summary>
    /// Local sessions (localSessionsEnabled on an ensemble member): hosted here only, created and
    /// expired without a txn, gone when the server changes role. Their ids come from
    /// <see cref="Sessions"/>, so the two never collide.
    /// </summary>
    public SessionTracker LocalSessions { get; private set; }

    private SessionTracker NewLocalSessions() => new(_options.TickTimeMs, _options.ServerId, _clock.WallMillis);

    /// <summary>New sessions are local here: local sessions are enabled and this server is an ensemble member serving.</summary>
    private bool CreatesLocalSessions => _readOnly || (_options.LocalSessionsEnabled && (_pipeline.Proposer is not null || _pipeline.Forwarder is not null));

    /// <inheritdoc cref="TxnPipeline.Committed"/>
    public CommittedLog Committed => _txns.Committed;

    public ServerStats Stats { get; } = new();
    public CoreOptions Options => _options;

    /// <summary>Holds connections back from reading while globalOutstandingLimit requests are unanswered.</summary>
    public OutstandingGate Throttle { get; }
    public IClock Clock => _clock;
    public IReadOnlyCollection<IClientConnection> Connections => _sessions.Connections;
    public int OutstandingTxns => _txns.Count;

    /// <summary>Raised on the core thread when enough txns have been applied since the last snapshot.</summary>
    public event Action? SnapshotDue;

    /// <summary>Raised on the core thread when a snapshot begun by <see cref="BeginSnapshot"/> has every node serialized.</summary>
    public event Action<FuzzySnapshot>? SnapshotSerialized;

    public bool IsSnapshotInProgress => _snapshot is not null;

    /// <summary>
    /// Starts a fuzzy snapshot as of the last applied zxid. It is serialized a slice per batch, so
    /// writes go on while it is taken, and a writer takes its segments meanwhile (the walk waits while
    /// the writer is behind); <see cref="SnapshotSerialized"/> is raised once every node is serialized.
    /// </summary>
    public FuzzySnapshot BeginSnapshot()
    {
        if (_snapshot is not null)
        {
            throw new InvalidOperationException("a snapshot is already being taken");
        }

        return _snapshot = new FuzzySnapshot(Tree, SessionTimeouts());
    }

    /// <summary>Abandons a snapshot still being serialized (the core has stopped for good).</summary>
    public void AbandonSnapshot()
    {
        _snapshot?.Abandon();
        _snapshot = null;
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
        foreach (var connection in _txns.Abandon())
        {
            connection.Close("write outcome unknown: the transaction log failed");
        }

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

    /// <summary>
    /// The log's fsync thread answers a small group commit itself, when no other thread runs the core:
    /// applying a few txns costs less than waking another thread to do it. A larger one goes to the
    /// thread pool, so that the next fsync is not held up behind its apply.
    /// </summary>
    private void OnLogSynced(long zxid)
    {
        var txns = zxid - _lastSyncedSeen;
        _lastSyncedSeen = zxid;
        if (txns is > 0 and <= InlineApplyTxns)
        {
            _executor.Post(new LogSyncedMessage(zxid));
        }
        else
        {
            _executor.PostInBackground(new LogSyncedMessage(zxid));
        }
    }

    /// <summary>Queues a message for the core; once <see cref="RunAsync"/> runs, it may be handled on this thread before Post returns.</summary>
    public void Post(CoreMessage message) => _executor.Post(message);

    /// <summary>Queues a message for the core; a thread of the pool runs it, never the caller's (packets read one at a time, to be batched).</summary>
    public void PostInBackground(CoreMessage message) => _executor.PostInBackground(message);

    /// <summary>Queues a message for the core without running it: <see cref="RunQueued"/> follows, once a caller has queued all it has.</summary>
    public void Queue(CoreMessage message) => _executor.Queue(message);

    /// <summary>Runs what is queued on this thread, unless another thread is running the core (it takes them).</summary>
    public void RunQueued() => _executor.RunQueued();

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

    /// <summary>
    /// Processes messages until cancelled, in batches (one log flush and one socket flush per batch),
    /// on the threads that post them (<see cref="CoreExecutor"/>), and posts a tick every half tickTime.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var ticker = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(_options.TickTimeMs / 2, 10, 1000)));
        var ticking = TickLoopAsync(ticker, cancellationToken);
        _executor.Start();
        try
        {
            await ticking.ConfigureAwait(false);
        }
        finally
        {
            _executor.Stop(TimeSpan.FromSeconds(5));
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
                case UnknownRequestMessage m:
                    RejectUnknown(m.Connection, m.Xid);
                    break;
                case QuorumConfigMessage m:
                    PublishQuorumConfig(System.Text.Encoding.UTF8.GetBytes(m.Text), m.Version);
                    break;
                case LogFailedMessage:
                    OnLogFailed();
                    break;
                case SnapshotRequestedMessage when _snapshot is null:
                    SnapshotDue?.Invoke();
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
        _txns.Flush();
        // A batch that answers one or two connections (unbatched traffic: a request or two per
        // wake-up) sends here, saving a thread wake-up per reply; a larger one leaves the sending to
        // other threads, so that on a busy server the sends run beside the core, not after it.
        var sendHere = _dirty.Count <= InlineSendConnections;
        foreach (var connection in _dirty)
        {
            connection.Flush(sendHere);
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

        if (_snapshot.IsBackedUp)
        {
            // The writer is behind: the walk waits for it instead of holding the whole snapshot in
            // memory. Registered again at every batch until it runs, so a wake-up is never lost; it
            // goes through the pool, so the writer's thread goes back to writing.
            _snapshot.ResumeWhenDrained(_resumeSnapshot ??= () => PostInBackground(SnapshotSliceMessage.Instance));
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
        _handshake.Connect(connection, request);
    }

    /// <summary>A follower hears from the leader whether a reconnecting session is alive.</summary>
    public void OnRevalidated(long sessionId, bool valid) => _handshake.Revalidated(sessionId, valid);

    private void OnRequest(ClientRequest request)
    {
        Stats.PacketReceived();
        var connection = request.Connection!;
        request.SessionId = connection.SessionId;
        if (connection.IsClosed || _sessions.Owned(connection, request.SessionId) is not { } state)
        {
            return;
        }

        var now = _clock.MonotonicMillis;
        if (!LocalSessions.Touch(request.SessionId, now) && !Sessions.Touch(request.SessionId, now))
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

        if (request.Type == OpCode.Reconfig && request.Reconfig is null)
        {
            // As Apache: a body that is no ReconfigRequest is refused before any txn (no zxid used).
            request.Refusal = ErrorCode.MarshallingError;
            AnswerInOrder(request, state);
            return;
        }

        if (_readOnly && (request.IsWrite || request.Type == OpCode.Sync) && !(request.Type == OpCode.CloseSession && LocalSessions.Get(request.SessionId) is not null))
        {
            // As Apache's ReadOnlyRequestProcessor: every change, and sync, is refused in order.
            request.Refusal = ErrorCode.NotReadOnly;
            AnswerInOrder(request, state);
            return;
        }

        if (LocalSessions.Get(request.SessionId) is { } local && HandledAsLocal(request, state, local))
        {
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
            var close = _preparer.PrepareCloseSession(request.SessionId, _txns.TakeZxid(), _clock.WallMillis);
            var prepared = close with { Header = close.Header with { Cxid = request.Xid } };
            Append(prepared, request, connection);
            state.WriteQueued(prepared.Header.Zxid);
            return;
        }

        if (request.IsWrite)
        {
            var prepared = _preparer.Prepare(request, _txns.TakeZxid(), _clock.WallMillis, connection.AuthInfo, _pipeline.MembershipChanger);
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

    private void Append(PreparedTxn prepared, ClientRequest? request, IClientConnection? connection) =>
        _txns.Append(prepared, request, connection, _pipeline.Proposer);

    private void OnSynced(long zxid) => _replication.LocallyDurable(_txns.Synced(zxid));

    /// <summary>Applies every txn appended so far up to <paramref name="zxid"/>, in order, and answers their clients.</summary>
    public void Commit(long zxid)
    {
        var snapshotDue = false;
        while (_txns.TryApplyNext(zxid, out var applied, out var result))
        {
            Complete(applied, result);
            if (applied.Body is { } body)
            {
                TxnApplied?.Invoke(applied.Prepared.Header.Zxid, body);
            }

            snapshotDue |= _housekeeping.Applied();
        }

        if (snapshotDue)
        {
            SnapshotDue?.Invoke();
        }
    }

    private void Complete(OutstandingTxn outstanding, ProcessTxnResult result)
    {
        var header = outstanding.Prepared.Header;
        var sessionId = header.ClientId;
        var request = outstanding.Request ?? (header.Type == OpCode.CreateSession ? null : _sessions.TakeForwarded(header));
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
                        SendConnectResponse(connection, ClientHandshake.Accepted(sessionId, timeout));
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

    private void SendConnectResponse(IClientConnection connection, ConnectResponse response)
    {
        if (connection.IsClosed)
        {
            return;
        }

        connection.SendConnectResponse(response);
        Stats.PacketSent();
        connection.Stats.PacketSent();
        _dirty.Add(connection);
    }

    /// <summary>On a follower: the leader answered the oldest forwarded sync (after every write before it committed).</summary>
    public void OnSyncReply()
    {
        if (!_forwardedSyncs.TryDequeue(out var forwarded))
        {
            _logger.LogWarning("The leader answered a sync this server did not forward");
            return;
        }

        if (forwarded is Action relayed)
        {
            relayed();
            return;
        }

        var sync = (ClientRequest)forwarded;
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
        if (request.Refusal is { } refusal)
        {
            Reply(request, refusal, null, Tree.LastProcessedZxid);
            return;
        }

        if (request.Type == OpCode.CloseSession)
        {
            CloseLocalSession(request.SessionId, request);
            return;
        }

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
    /// /zookeeper/config holds the quorum configuration, as Apache sets it at start and after a
    /// learner's sync: data version -1, mzxid the config's version. Kept to set again on a new tree.
    /// </summary>
    private void PublishQuorumConfig(byte[] text, long version)
    {
        _quorumConfig = (text, version);
        Tree.SetData(DataTree.ConfigPath, text, -1, version, _clock.WallMillis);
    }

    /// <summary>As ZooKeeper: an unknown request type is answered with Unimplemented (zxid 0) and the connection closed.</summary>
    private void RejectUnknown(IClientConnection connection, int xid)
    {
        if (connection.IsClosed)
        {
            return;
        }

        connection.SendReply(new ReplyHeader(xid, 0, ErrorCode.Unimplemented), null);
        connection.Close("unknown request type");
    }

    /// <summary>One step of a SASL exchange; the reply carries zxid 0, as Apache's.</summary>
    private void Authenticate(ClientRequest request, IClientConnection connection)
    {
        var step = _sasl.Evaluate(connection, request.SaslToken);
        Reply(request, step.Err, new SaslResponse(step.Token), 0);
        if (step.CloseReason is { } reason)
        {
            connection.Close(reason);
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

    // ---- Ensemble roles (all on the core thread) ----

    /// <summary>
    /// Leaves the current role: clients are disconnected, and every txn already in the local log is
    /// applied, so the tree is this server's whole history (what an election compares). Returns the
    /// last zxid.
    /// </summary>
    public long StepDown()
    {
        _serving = false;
        _readOnly = false;
        foreach (var connection in _sessions.Clear())
        {
            connection.Close("this server is looking for a leader");
            Tree.RemoveWatcher(connection);
        }

        _forwardedSyncs.Clear();
        _learnerTouches.Clear();
        LocalSessions = NewLocalSessions();
        if (_txns.LastOutstandingZxid is { } last)
        {
            Commit(last);
        }

        _pending.Clear();
        UsePipeline(new StandaloneReplication(this));

        // Every connection is closed: no request is left to answer.
        Stats.OutstandingRequests = 0;
        Throttle.Set(0);
        return Tree.LastProcessedZxid;
    }

    /// <summary>
    /// Serves read-only clients while the server has no leader, as Apache's ReadOnlyZooKeeperServer:
    /// reads from the tree as it is, every change refused with NotReadOnly, sessions local (nothing
    /// can be logged), no expiry of global sessions. Left by <see cref="StepDown"/>. False when the
    /// server serves already.
    /// </summary>
    public bool ServeReadOnly()
    {
        if (_serving)
        {
            return false;
        }

        UsePipeline(new StandaloneReplication(this));
        _readOnly = true;
        _serving = true;
        _logger.LogInformation("Serving read-only clients: this server is cut off from its quorum");
        _handshake.ServingAgain();
        return true;
    }

    /// <summary>Takes a role in an ensemble and starts serving; a leader starts its zxids at <paramref name="nextZxid"/>.</summary>
    public void TakeRole(IReplication replication, long? nextZxid, long epochStartZxid)
    {
        UsePipeline(replication);
        if (nextZxid is { } zxid)
        {
            _txns.StartZxidsAt(zxid);
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
        _handshake.ServingAgain();
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
        if (!_txns.AcceptProposal(header, txn, body))
        {
            _logger.LogWarning("Ignoring proposal 0x{Zxid:x}: already logged through 0x{Last:x}", header.Zxid, LastLoggedZxid);
        }
    }

    /// <summary>Completes once the local log is durable through <paramref name="zxid"/> (see <see cref="IsDurableThrough"/>).</summary>
    public Task WaitDurableAsync(long zxid) => _txns.WaitDurableAsync(zxid);

    /// <summary>Replaces the whole tree (a follower that received a snapshot or truncated its log).</summary>
    public void ReplaceTree(DataTree tree, IReadOnlyDictionary<long, int> sessions)
    {
        Tree = tree;
        _pending = new PendingChanges(Tree);
        _txns.Replace(tree, _pending);
        if (_quorumConfig is { } config)
        {
            PublishQuorumConfig(config.Text, config.Version);
        }

        _preparer = new RequestPreparer(_pending, Tree, _options.ExtendedTypesEnabled, _options.ProviderSchemes, _options.SkipAcl, _options.ReconfigEnabled);
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
                    var header = new TxnHeader(sessionId, 0, _txns.TakeZxid(), _clock.WallMillis, OpCode.CreateSession);
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

                    var close = _preparer.PrepareCloseSession(sessionId, _txns.TakeZxid(), _clock.WallMillis);
                    var prepared = close with { Header = close.Header with { Cxid = request.Xid } };
                    Append(prepared, null, null);
                    return;
                }

            default:
                {
                    Sessions.Touch(sessionId, _clock.MonotonicMillis);
                    var prepared = _preparer.Prepare(request, _txns.TakeZxid(), _clock.WallMillis, request.ForwardedAuth ?? [], _pipeline.MembershipChanger);
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

    /// <summary>On a follower serving observers: an observer's sync goes to the leader in turn with this server's own; <paramref name="answered"/> runs when the leader answers it.</summary>
    public void RelaySync(Action answered) => _forwardedSyncs.Enqueue(answered);

    /// <summary>On a follower serving observers: a session active on an observer, reported to the leader with this server's own.</summary>
    public void TouchForLearner(long sessionId, int timeout) => _learnerTouches[sessionId] = timeout;

    /// <summary>
    /// Called on the core thread with each committed txn as it is applied (its zxid and its serialized
    /// form): a follower relays them to the observers it serves.
    /// </summary>
    public Action<long, byte[]>? TxnApplied { get; set; }

    /// <summary>A follower reports the sessions active here (and on the observers it serves) since the last report, with their timeouts.</summary>
    public List<(long SessionId, int Timeout)> TakeTouchedSessions()
    {
        // Sessions with a connection here stay alive even when idle between the client's pings.
        var touched = new List<(long, int)>();
        foreach (var (id, timeout) in _learnerTouches)
        {
            touched.Add((id, timeout));
        }

        _learnerTouches.Clear();
        foreach (var id in _sessions.TakeActive())
        {
            if (Sessions.Get(id) is { } session)
            {
                touched.Add((id, session.TimeoutMs));
            }
        }

        return touched;
    }

    /// <summary>
    /// What a local session may not do as it is, as Apache's learners and leader check it: its
    /// closeSession needs no txn (answered in order with its other requests); its first ephemeral
    /// create makes it global first (localSessionsUpgradingEnabled) or is refused with
    /// EphemeralOnLocalSession. True when the request was dealt with here.
    /// </summary>
    private bool HandledAsLocal(ClientRequest request, SessionState state, Session local)
    {
        if (request.Type == OpCode.CloseSession)
        {
            local.IsClosing = true;
        }
        else if (CreatesEphemeral(request))
        {
            if (!_options.LocalSessionsUpgradingEnabled)
            {
                request.Refusal = ErrorCode.EphemeralOnLocalSession;
            }
            else
            {
                UpgradeSession(local);
                return false;
            }
        }
        else
        {
            return false;
        }

        AnswerInOrder(request, state);
        return true;
    }

    /// <summary>A request answered here without a txn: now when nothing of its session waits, else in its turn.</summary>
    private void AnswerInOrder(ClientRequest request, SessionState state)
    {
        if (state.IsIdle)
        {
            ExecuteRead(request);
        }
        else
        {
            state.ReadQueued(request);
        }
    }

    private static bool CreatesEphemeral(ClientRequest request) => request.Type switch
    {
        OpCode.Create or OpCode.Create2 => request.Body is CreateRequest create && ((CreateMode)create.Flags).IsEphemeral(),
        OpCode.Multi => request.MultiOps?.Any(op => op.Type is OpCode.Create or OpCode.Create2 && op.Request is CreateRequest create && ((CreateMode)create.Flags).IsEphemeral()) == true,
        _ => false,
    };

    /// <summary>A local session becomes global: a createSession txn (here on a leader, by the leader on a learner) goes before the request that needs it.</summary>
    private void UpgradeSession(Session local)
    {
        var (id, timeout) = (local.Id, local.TimeoutMs);
        LocalSessions.Remove(id);
        Sessions.Add(id, timeout, _clock.MonotonicMillis);
        _logger.LogInformation("Upgrading local session 0x{Session:x} to a global one for its first ephemeral node", id);
        if (_pipeline.Forwarder is { } leader)
        {
            leader.Forward(new ClientRequest { Connection = null, Xid = 0, Type = OpCode.CreateSession, Body = null, CreateTimeout = timeout }, id);
            return;
        }

        var header = new TxnHeader(id, 0, _txns.TakeZxid(), _clock.WallMillis, OpCode.CreateSession);
        Append(new PreparedTxn(header, new CreateSessionTxn(timeout), []), null, null);
    }

    /// <summary>A local session ends (closed by its client, or expired) without a txn: it had no ephemerals.</summary>
    private void CloseLocalSession(long sessionId, ClientRequest? request)
    {
        LocalSessions.Remove(sessionId);
        var state = _sessions.Close(sessionId);
        if (request is not null)
        {
            Reply(request, ErrorCode.Ok, null, Tree.LastProcessedZxid);
        }

        if (state?.Owner is { } owner)
        {
            owner.Close(request is null ? "session expired" : "client closed the session");
            Tree.RemoveWatcher(owner);
        }

        _logger.LogInformation(request is null ? "Expired local session 0x{Session:x}" : "Closed local session 0x{Session:x}", sessionId);
    }

    /// <summary>The handshake's view of this core: its state, and the txn that creates a session here.</summary>
    private sealed class HandshakeHost(ServerCore core) : IHandshakeHost
    {
        public bool IsServing => core._serving;

        public bool CanLog => !core._logFailed;

        public long LastZxid => core.Tree.LastProcessedZxid;

        public IWriteForwarder? Forwarder => core._pipeline.Forwarder;

        public SessionTracker? LocalSessions => core.CreatesLocalSessions ? core.LocalSessions : null;

        public bool IsReadOnly => core._readOnly;

        public void CreateSession(IClientConnection connection, SessionState state, long sessionId, int timeout)
        {
            var header = new TxnHeader(sessionId, 0, core._txns.TakeZxid(), core._clock.WallMillis, OpCode.CreateSession);
            core.Append(new PreparedTxn(header, new CreateSessionTxn(timeout), []), null, connection);
            state.WriteQueued(header.Zxid);
        }

        public void SendConnectResponse(IClientConnection connection, ConnectResponse response) => core.SendConnectResponse(connection, response);

        public void Forget(IClientConnection connection) => core.Tree.RemoveWatcher(connection);
    }

    private void OnConnectionClosed(IClientConnection connection)
    {
        connection.Close("connection ended");
        _sasl.Forget(connection);
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
        _handshake.Tick(now);
        foreach (var session in LocalSessions.Expire(now))
        {
            _logger.LogInformation("Expiring local session 0x{Session:x}, timeout of {Timeout} ms exceeded", session.Id, session.TimeoutMs);
            CloseLocalSession(session.Id, null);
        }

        if (!_serving || !_pipeline.OwnsSessions || _readOnly)
        {
            return;
        }

        foreach (var session in _housekeeping.ExpiredSessions(Sessions, now))
        {
            _logger.LogInformation("Expiring session 0x{Session:x}, timeout of {Timeout} ms exceeded", session.Id, session.TimeoutMs);
            var prepared = _preparer.PrepareCloseSession(session.Id, _txns.TakeZxid(), _clock.WallMillis);
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
            Append(_preparer.Prepare(request, _txns.TakeZxid(), wallNow, []), null, null);
        }
    }
}
