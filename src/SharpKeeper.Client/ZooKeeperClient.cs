using System.Buffers.Binary;
using System.Net.Sockets;
using System.Threading.Channels;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>
/// An asynchronous ZooKeeper client. Requests are pipelined over one connection and answered in
/// order; watch events and replies are delivered on one ordered dispatcher, so a watch event is
/// always seen before the reply that follows it on the wire. After a lost connection the client
/// reconnects to the same session and re-registers its watches.
/// </summary>
public sealed partial class ZooKeeperClient : IAsyncDisposable
{
    private readonly ZooKeeperClientOptions _options;
    private readonly (string Host, int Port)[] _hosts;
    private readonly WatchRegistry _watches = new();
    private readonly Channel<Action> _dispatch = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private readonly List<(string Scheme, byte[] Auth)> _auth = [];
    private readonly Task _dispatcher;
    private Session? _session;
    private int _hostIndex;
    private long _lastZxid;
    private volatile bool _closed;

    private ZooKeeperClient(ZooKeeperClientOptions options)
    {
        _options = options;
        _hosts = [.. options.ConnectString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseHost)];
        if (_hosts.Length == 0)
        {
            throw new ArgumentException("the connect string names no server", nameof(options));
        }

        SessionId = options.SessionId;
        SessionPassword = options.SessionPassword ?? new byte[16];
        _dispatcher = DispatchLoopAsync();
    }

    public long SessionId { get; private set; }
    public byte[] SessionPassword { get; private set; }
    public TimeSpan NegotiatedTimeout { get; private set; }
    public long LastZxid => Interlocked.Read(ref _lastZxid);
    public KeeperState State { get; private set; } = KeeperState.Disconnected;

    public event Action<KeeperState>? StateChanged;

    public static async Task<ZooKeeperClient> ConnectAsync(ZooKeeperClientOptions options, CancellationToken cancellationToken = default)
    {
        var client = new ZooKeeperClient(options);
        try
        {
            await client.EstablishAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static (string, int) ParseHost(string text)
    {
        var colon = text.LastIndexOf(':');
        return colon < 0 ? (text, 2181) : (text[..colon].Trim('[', ']'), int.Parse(text[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Connects to the next server that answers and performs the handshake.</summary>
    private async Task EstablishAsync(CancellationToken cancellationToken)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < _hosts.Length * 2 && !_closed; attempt++)
        {
            var (host, port) = _hosts[_hostIndex];
            _hostIndex = (_hostIndex + 1) % _hosts.Length;
            try
            {
                var session = await Session.OpenAsync(this, host, port, cancellationToken).ConfigureAwait(false);
                if (session.Timeout <= 0)
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                    SetState(KeeperState.Expired);
                    foreach (var watcher in _watches.Clear())
                    {
                        Dispatch(() => watcher(new WatchedEvent(EventType.None, KeeperState.Expired, null)));
                    }

                    throw new KeeperException(ErrorCode.SessionExpired);
                }

                var resumed = SessionId != 0;
                SessionId = session.SessionId;
                SessionPassword = session.Password;
                NegotiatedTimeout = TimeSpan.FromMilliseconds(session.Timeout);
                _session = session;
                session.Start();
                SetState(KeeperState.SyncConnected);
                foreach (var (scheme, auth) in _auth.ToArray())
                {
                    _ = session.SendAuthAsync(scheme, auth);
                }

                if (resumed)
                {
                    var (data, exist, child, persistent, recursive) = _watches.Snapshot();
                    if (data.Count + exist.Count + child.Count + persistent.Count + recursive.Count > 0)
                    {
                        await session.SendSetWatchesAsync(new SetWatchesRequest(LastZxid, data, exist, child, persistent, recursive)).ConfigureAwait(false);
                    }
                }

                return;
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException or JuteException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = e;
            }
        }

        throw new KeeperException(ErrorCode.ConnectionLoss, last?.Message);
    }

    /// <summary>Called by a session whose socket failed: in-flight requests already failed with ConnectionLoss.</summary>
    private void OnSessionLost(Session session)
    {
        if (!ReferenceEquals(_session, session) || _closed)
        {
            return;
        }

        _session = null;
        SetState(KeeperState.Disconnected);
        if (_options.Reconnect)
        {
            _ = Task.Run(async () =>
            {
                while (!_closed && _session is null && State != KeeperState.Expired)
                {
                    try
                    {
                        await EstablishAsync(_closing.Token).ConfigureAwait(false);
                    }
                    catch (KeeperException e) when (e.Code == ErrorCode.SessionExpired)
                    {
                        return;
                    }
                    catch (Exception e) when (e is KeeperException or OperationCanceledException)
                    {
                        await Task.Delay(200).ConfigureAwait(false);
                    }
                }
            });
        }
    }

    private void SetState(KeeperState state)
    {
        if (State == state)
        {
            return;
        }

        State = state;
        Dispatch(() =>
        {
            StateChanged?.Invoke(state);
            _options.DefaultWatcher?.Invoke(new WatchedEvent(EventType.None, state, null));
        });
    }

    private void OnWatchEvent(WatcherEvent e)
    {
        var watchers = _watches.Trigger(e.Type, e.Path);
        var watched = new WatchedEvent(e.Type, e.State, e.Path);
        Dispatch(() =>
        {
            if (watchers.Count == 0)
            {
                _options.DefaultWatcher?.Invoke(watched);
            }

            foreach (var watcher in watchers)
            {
                watcher(watched);
            }
        });
    }

    private void Dispatch(Action action) => _dispatch.Writer.TryWrite(action);

    private async Task DispatchLoopAsync()
    {
        await foreach (var action in _dispatch.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A throwing watcher must not stop the delivery of everything after it.
                System.Diagnostics.Trace.TraceError("watcher failed: " + e);
            }
        }
    }

    /// <summary>Sends any request and returns the raw reply; never throws for a ZooKeeper error code.</summary>
    public Task<ZkResult> SendAsync(OpCode op, PathRequest? body, CancellationToken cancellationToken = default) =>
        SubmitAsync(op, w =>
        {
            if (body is not null)
            {
                RequestCodec.WritePathRequest(w, op, body);
            }
        }, cancellationToken);

    public Task<ZkResult> MultiAsync(IReadOnlyList<MultiOp> ops, bool readOnly = false, CancellationToken cancellationToken = default) =>
        SubmitAsync(readOnly ? OpCode.MultiRead : OpCode.Multi, w => RequestCodec.WriteMulti(w, ops), cancellationToken);

    private Task<ZkResult> SubmitAsync(OpCode op, Action<JuteWriter> writeBody, CancellationToken cancellationToken, Action<ZkResult>? onReply = null)
    {
        if (_closed)
        {
            return Task.FromException<ZkResult>(new ObjectDisposedException(nameof(ZooKeeperClient)));
        }

        var session = _session;
        if (session is null)
        {
            return Task.FromResult(new ZkResult(ErrorCode.ConnectionLoss, 0, null));
        }

        return session.SubmitAsync(op, writeBody, onReply, cancellationToken);
    }

    /// <summary>Ends the session (closeSession), then the connection.</summary>
    public async Task CloseAsync()
    {
        if (_closed)
        {
            return;
        }

        if (_session is { } session)
        {
            try
            {
                await session.SubmitAsync(OpCode.CloseSession, _ => { }, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        await _closing.CancelAsync().ConfigureAwait(false);
        if (_session is { } session)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        SetState(KeeperState.Closed);
        _dispatch.Writer.TryComplete();
        await _dispatcher.ConfigureAwait(false);
        _closing.Dispose();
    }

    private static int ReadLength(ReadOnlySpan<byte> prefix) => BinaryPrimitives.ReadInt32BigEndian(prefix);
}
