using System.Threading.Channels;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>
/// An asynchronous ZooKeeper client. Any number of requests may be in flight on the one connection; the
/// server answers in order and each reply completes its own task. Watch events and state changes are
/// delivered on one ordered event loop, and a reply that follows a watch event on the wire completes only
/// after that event's watchers have run. After a lost connection the client reconnects to the next server
/// with the same session and re-registers its watches (setWatches). The raw methods (<see cref="SendAsync"/>,
/// <see cref="MultiAsync"/>, <see cref="SetWatchesAsync"/>) never throw for a ZooKeeper error code; the typed
/// ones throw <see cref="KeeperException"/>.
/// </summary>
public sealed partial class ZooKeeperClient : IAsyncDisposable
{
    private static readonly Watcher NoopWatcher = static _ => { };

    private readonly ZooKeeperClientOptions _options;
    private readonly (string Host, int Port)[] _hosts;
    private readonly string? _chroot;
    private readonly WatchManager _watches = new();
    private readonly Watcher? _defaultWatcher;
    private readonly Channel<PendingRequest> _requests =
        Channel.CreateUnbounded<PendingRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PendingRequest _ping = new(RequestKind.Ping, OpCode.Ping);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<AuthPacket> _authInfo = [];
    private readonly object _gate = new();
    private Connection? _current;
    private Task _lifecycle = Task.CompletedTask;
    private int _hostIndex;
    private int _xid;
    private int _pingQueued;
    private long _lastZxid;
    private long _sessionId;
    private byte[] _password;
    private int _negotiatedTimeoutMs;
    private bool _seenReadWriteServer;
    private volatile KeeperState _state = KeeperState.Disconnected;
    private volatile bool _closing;
    private volatile bool _terminal;
    private KeeperState _terminalState;
    private ErrorCode _terminalError;

    private ZooKeeperClient(ZooKeeperClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.SessionTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "SessionTimeout must be positive");
        }

        _options = options;
        var parsed = ConnectString.Parse(options.ConnectString);
        _chroot = options.Chroot is not null ? ConnectString.NormalizeChroot(options.Chroot) : parsed.Chroot;
        _hosts = [.. parsed.Hosts];
        if (options.ShuffleHosts)
        {
            Random.Shared.Shuffle(_hosts);
        }

        _sessionId = options.SessionId;
        _password = options.SessionPassword ?? new byte[16];
        _seenReadWriteServer = options.SessionId != 0;
        _lastZxid = options.LastZxidSeen ?? 0;
        _defaultWatcher = options.DefaultWatcher is { } callback ? new Watcher(callback) : null;
        _dispatcher = Task.Run(DispatchLoopAsync);
    }

    /// <summary>The session id (0 until the first handshake completes).</summary>
    public long SessionId => Interlocked.Read(ref _sessionId);

    public byte[] SessionPassword => Volatile.Read(ref _password);

    /// <summary>The session timeout the server granted.</summary>
    public TimeSpan NegotiatedTimeout => TimeSpan.FromMilliseconds(Volatile.Read(ref _negotiatedTimeoutMs));

    /// <summary>The zxid of the last reply that carried one (sent as lastZxidSeen and with setWatches on reconnect).</summary>
    public long LastZxid => Interlocked.Read(ref _lastZxid);

    public KeeperState State => _state;

    /// <summary>True while a session is established (read-write or read-only).</summary>
    public bool IsConnected => _state is KeeperState.SyncConnected or KeeperState.ConnectedReadOnly;

    /// <summary>"host:port" of the server of the current connection, or null while disconnected.</summary>
    public string? CurrentServer
    {
        get
        {
            lock (_gate)
            {
                return _current?.EndPoint;
            }
        }
    }

    /// <summary>Paths with watches registered here: data, exist, child, persistent, recursive.</summary>
    public (int Data, int Exist, int Child, int Persistent, int Recursive) WatchCounts => _watches.Counts();

    /// <summary>The chroot every path is relative to, or null.</summary>
    public string? Chroot => _chroot;

    /// <summary>Raised on the event loop for every state change, before the watchers hear of it.</summary>
    public event Action<KeeperState>? StateChanged;

    /// <summary>
    /// Raised on the event loop for every watch notification the server sends, whether or not a watcher
    /// was registered for it, before the watchers run (for tests and differential harnesses).
    /// </summary>
    public event Action<WatchedEvent>? NotificationReceived;

    /// <summary>Connects and establishes (or resumes) a session; throws KeeperException(SessionExpired) when the server refuses it.</summary>
    public static async Task<ZooKeeperClient> ConnectAsync(ZooKeeperClientOptions options, CancellationToken ct = default)
    {
        var client = new ZooKeeperClient(options);
        try
        {
            await client.EstablishAsync(ct).ConfigureAwait(false);
            return client;
        }
        catch
        {
            client.RequestTerminal(KeeperState.Closed, ErrorCode.SessionExpired);
            client.FinishTerminal(null);
            client._shutdown.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends any request and returns the raw reply; never throws for a ZooKeeper error code (a lost
    /// connection is ConnectionLoss, a dead session SessionExpired). A watch flag set in the body
    /// registers the default watcher (or an internal one when there is none) so the watch survives
    /// reconnects; addWatch does the same; removeWatches removes the local watches on Ok.
    /// </summary>
    public Task<ZkResult> SendAsync(OpCode op, PathRequest? body, CancellationToken ct = default)
    {
        var watch = WatchKind.None;
        string? clientPath = null;
        var deregister = false;
        var removeType = WatcherType.Any;
        switch (body)
        {
            case PathWatchRequest { Watch: true } read:
                watch = op switch
                {
                    OpCode.Exists => WatchKind.Exists,
                    OpCode.GetData => WatchKind.Data,
                    OpCode.GetChildren or OpCode.GetChildren2 => WatchKind.Child,
                    _ => WatchKind.None,
                };
                clientPath = read.Path;
                break;
            case PathIntRequest add when op == OpCode.AddWatch:
                watch = add.Value switch
                {
                    (int)AddWatchMode.Persistent => WatchKind.Persistent,
                    (int)AddWatchMode.PersistentRecursive => WatchKind.PersistentRecursive,
                    _ => WatchKind.None,
                };
                clientPath = add.Path;
                break;
            case PathIntRequest remove when op == OpCode.RemoveWatches:
                deregister = true;
                removeType = (WatcherType)remove.Value;
                clientPath = remove.Path;
                break;
        }

        var request = new PendingRequest(op == OpCode.CloseSession ? RequestKind.Close : RequestKind.Normal, op)
        {
            Body = ToServer(body),
            Watch = watch,
            Watcher = watch == WatchKind.None ? null : _defaultWatcher ?? NoopWatcher,
            ClientPath = clientPath,
            Deregister = deregister,
            RawDeregister = deregister,
            RemoveType = removeType,
        };
        return Submit(request, ct);
    }

    /// <summary>multi (or multiRead when <paramref name="readOnly"/>): the raw reply, with per-operation results when Err is Ok.</summary>
    public Task<ZkResult> MultiAsync(IReadOnlyList<MultiOp> ops, bool readOnly = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(ops);
        IReadOnlyList<MultiOp> serverOps = ops;
        if (_chroot is not null)
        {
            serverOps = [.. ops.Select(o => o with { Request = ToServer(o.Request)! })];
        }

        return Submit(new PendingRequest(RequestKind.Normal, readOnly ? OpCode.MultiRead : OpCode.Multi) { Ops = serverOps }, ct);
    }

    /// <summary>Raw setWatches (101) or setWatches2 (105) with xid -8; registers nothing locally (for tests).</summary>
    public Task<ZkResult> SetWatchesAsync(SetWatchesRequest request, bool version2, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_chroot is not null)
        {
            request = request with
            {
                DataWatches = ChrootPath.ToServer(_chroot, request.DataWatches),
                ExistWatches = ChrootPath.ToServer(_chroot, request.ExistWatches),
                ChildWatches = ChrootPath.ToServer(_chroot, request.ChildWatches),
                PersistentWatches = ChrootPath.ToServer(_chroot, request.PersistentWatches),
                PersistentRecursiveWatches = ChrootPath.ToServer(_chroot, request.PersistentRecursiveWatches),
            };
        }

        var op = version2 ? OpCode.SetWatches2 : OpCode.SetWatches;
        return Submit(new PendingRequest(RequestKind.SetWatches, op) { SetWatches = request, Xid = Xids.SetWatches }, ct);
    }

    /// <summary>
    /// Ends the session: sends closeSession, waits for its reply (at most the negotiated timeout), then closes
    /// the connection. State becomes Closed; later requests get SessionExpired, as ZooKeeper's client reports.
    /// </summary>
    public async Task CloseAsync(CancellationToken ct = default)
    {
        if (!_terminal && !_closing)
        {
            _closing = true;
            if (IsConnected)
            {
                var close = Submit(new PendingRequest(RequestKind.Close, OpCode.CloseSession), CancellationToken.None);
                try
                {
                    await close.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(1000, Volatile.Read(ref _negotiatedTimeoutMs))), ct).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
            }

            RequestTerminal(KeeperState.Closed, ErrorCode.SessionExpired);
        }

        await _lifecycle.ConfigureAwait(false);
    }

    /// <summary>Drops the connection without closeSession and stops (the session lives on until it expires: a crashed client).</summary>
    public async Task AbortAsync()
    {
        RequestTerminal(KeeperState.Closed, ErrorCode.SessionExpired);
        await _lifecycle.ConfigureAwait(false);
    }

    /// <summary>Closes the current socket as a network failure would; the client then reconnects (when <see cref="ZooKeeperClientOptions.Reconnect"/>).</summary>
    public void DropConnection()
    {
        lock (_gate)
        {
            _current?.Abort();
        }
    }

    /// <summary>Closes the session (see <see cref="CloseAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private Task<ZkResult> Submit(PendingRequest request, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<ZkResult>(ct);
        }

        if (ct.CanBeCanceled)
        {
            request.Registration = ct.UnsafeRegister(static (state, token) => ((PendingRequest)state!).TrySetCanceled(token), request);
        }

        if (!_requests.Writer.TryWrite(request))
        {
            // The session is over: answer as ZooKeeper's client does for a dead session.
            request.Registration.Unregister();
            var error = TerminalError();
            if (request.Deregister)
            {
                Finish(request, new ZkResult(error, 0, null));
                return request.Task;
            }

            return Task.FromResult(new ZkResult(error, 0, null));
        }

        return request.Task;
    }

    private PathRequest? ToServer(PathRequest? body) =>
        _chroot is null || body is null ? body : body with { Path = ChrootPath.ToServer(_chroot, body.Path) };

    private string ToClient(string serverPath) => ChrootPath.ToClient(_chroot, serverPath);

    private ErrorCode TerminalError()
    {
        lock (_gate)
        {
            return _terminal ? _terminalError : ErrorCode.ConnectionLoss;
        }
    }

    /// <summary>Marks the session as over (first caller wins); the lifecycle task then fails what is outstanding.</summary>
    private bool RequestTerminal(KeeperState state, ErrorCode error)
    {
        Connection? current;
        lock (_gate)
        {
            if (_terminal)
            {
                return false;
            }

            _terminalState = state;
            _terminalError = error;
            _terminal = true;
            current = _current;
        }

        _requests.Writer.TryComplete();
        try
        {
            _shutdown.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        current?.Abort();
        return true;
    }

    /// <summary>
    /// The end of the session, once no loop runs any more: fail everything outstanding, tell every watcher
    /// (they are all dropped), then stop the event loop.
    /// </summary>
    private void FinishTerminal(Connection? last)
    {
        KeeperState state;
        ErrorCode error;
        lock (_gate)
        {
            state = _terminalState;
            error = _terminalError;
        }

        _state = state;
        FailOutstanding(last, error);
        EnqueueState(state, _watches.All(_defaultWatcher, clear: true));
        _events.Writer.TryComplete();
    }

    /// <summary>Fails the requests of a dead connection and everything not yet written.</summary>
    private void FailOutstanding(Connection? connection, ErrorCode error)
    {
        var failed = new ZkResult(error, 0, null);
        if (connection is not null)
        {
            while (connection.InFlight.TryDequeue(out var request))
            {
                Finish(request, failed);
            }

            while (connection.Auths.TryDequeue(out var auth))
            {
                Finish(auth, failed);
            }
        }

        while (_requests.Reader.TryRead(out var queued))
        {
            if (!ReferenceEquals(queued, _ping))
            {
                Finish(queued, failed);
            }
        }

        Volatile.Write(ref _pingQueued, 0);
    }

    /// <summary>First connection: try the hosts in turn until one accepts, the session timeout has passed, or the caller gives up.</summary>
    private async Task EstablishAsync(CancellationToken ct)
    {
        var deadline = Environment.TickCount64 + (long)_options.SessionTimeout.TotalMilliseconds;
        Exception? last = null;
        for (var attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            if (attempt > 0 && Environment.TickCount64 >= deadline)
            {
                var error = new KeeperException(ErrorCode.ConnectionLoss);
                error.Data["LastError"] = last?.Message;
                throw error;
            }

            if (attempt > 0 && attempt % _hosts.Length == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(_options.ReconnectDelay.TotalMilliseconds, 250)), ct).ConfigureAwait(false);
            }

            Connection connection;
            try
            {
                connection = await OpenAsync(NextHost(), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e) && !ct.IsCancellationRequested)
            {
                last = e;
                continue;
            }

            if (connection.Response!.Timeout <= 0)
            {
                connection.Dispose();
                RequestTerminal(KeeperState.Expired, ErrorCode.SessionExpired);
                FinishTerminal(null);
                throw new KeeperException(ErrorCode.SessionExpired);
            }

            if (!Activate(connection))
            {
                connection.Dispose();
                throw new OperationCanceledException("the client was closed while connecting");
            }

            _lifecycle = Task.Run(() => RunAsync(connection));

            // Return once the SyncConnected event has been dispatched, so the default watcher has always seen it
            // and a StateChanged handler attached after ConnectAsync never does.
            var barrier = new PendingRequest(RequestKind.Normal, OpCode.Ping);
            if (Enqueue(new DispatchItem(barrier, default(ZkResult))))
            {
                await barrier.Task.ConfigureAwait(false);
            }

            return;
        }
    }

    /// <summary>Serves one connection after another until the session ends.</summary>
    private async Task RunAsync(Connection connection)
    {
        try
        {
            await RunConnectionsAsync(connection).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Not expected; never leave the client hanging in Disconnected without anyone reconnecting.
            System.Diagnostics.Trace.TraceError($"ZooKeeper client session loop failed: {e}");
            RequestTerminal(KeeperState.Closed, ErrorCode.SessionExpired);
            FinishTerminal(null);
        }
    }

    private async Task RunConnectionsAsync(Connection connection)
    {
        while (true)
        {
            await ServeAsync(connection).ConfigureAwait(false);
            lock (_gate)
            {
                _current = null;
            }

            connection.Dispose();
            if (_closing)
            {
                RequestTerminal(KeeperState.Closed, ErrorCode.SessionExpired);
            }
            else if (!_options.Reconnect)
            {
                RequestTerminal(KeeperState.Disconnected, ErrorCode.ConnectionLoss);
            }

            if (_terminal)
            {
                FinishTerminal(connection);
                return;
            }

            _state = KeeperState.Disconnected;
            FailOutstanding(connection, ErrorCode.ConnectionLoss);
            EnqueueState(KeeperState.Disconnected, _watches.All(_defaultWatcher, clear: false));

            var next = await ReconnectAsync().ConfigureAwait(false);
            if (next is null)
            {
                FinishTerminal(null);
                return;
            }

            connection = next;
        }
    }

    /// <summary>Reconnect attempts with jittered delays; null when the session ended meanwhile (expired, closed).</summary>
    private async Task<Connection?> ReconnectAsync()
    {
        var token = _shutdown.Token;
        var delayMs = (int)Math.Max(0, _options.ReconnectDelay.TotalMilliseconds);
        for (var attempt = 0; !_terminal; attempt++)
        {
            try
            {
                var wait = delayMs == 0 ? 0 : Random.Shared.Next(delayMs + 1);
                if (attempt > 0 && attempt % _hosts.Length == 0)
                {
                    wait += delayMs;
                }

                if (wait > 0)
                {
                    await Task.Delay(wait, token).ConfigureAwait(false);
                }

                var connection = await OpenAsync(NextHost(), token).ConfigureAwait(false);
                if (connection.Response!.Timeout <= 0)
                {
                    connection.Dispose();
                    RequestTerminal(KeeperState.Expired, ErrorCode.SessionExpired);
                    return null;
                }

                if (Activate(connection))
                {
                    return connection;
                }

                connection.Dispose();
                return null;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception)
            {
                // As ZooKeeper's client does after every failed attempt: what was queued meanwhile fails.
                FailOutstanding(null, ErrorCode.ConnectionLoss);
            }
        }

        return null;
    }

    /// <summary>The handshake succeeded: adopt the session and announce the new state.</summary>
    private bool Activate(Connection connection)
    {
        var response = connection.Response!;
        lock (_gate)
        {
            if (_terminal)
            {
                return false;
            }

            _current = connection;
        }

        Interlocked.Exchange(ref _sessionId, response.SessionId);
        Volatile.Write(ref _password, response.Password);
        Volatile.Write(ref _negotiatedTimeoutMs, response.Timeout);
        _seenReadWriteServer |= !response.ReadOnly;
        var state = response.ReadOnly ? KeeperState.ConnectedReadOnly : KeeperState.SyncConnected;
        _state = state;
        EnqueueState(state, _watches.All(_defaultWatcher, clear: false));
        return true;
    }

    private (string Host, int Port) NextHost()
    {
        var host = _hosts[_hostIndex];
        _hostIndex = (_hostIndex + 1) % _hosts.Length;
        return host;
    }

    private static bool IsTransient(Exception e) =>
        e is IOException or System.Net.Sockets.SocketException or TimeoutException or Protocol.Jute.JuteException or ObjectDisposedException;
}
