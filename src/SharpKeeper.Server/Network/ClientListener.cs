using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Network;

/// <summary>Accepts client connections on the client port (or, with TLS, the secure client port), enforcing maxClientCnxns per IP address.</summary>
public sealed class ClientListener : IAsyncDisposable
{
    private Socket _listener;
    private readonly ServerCore _core;
    private readonly NetworkOptions _options;
    private readonly ILogger _logger;
    private readonly Func<string, IPEndPoint, Task<string>> _fourLetterWords;
    private readonly ConcurrentDictionary<string, int> _perIp = new();
    private readonly ConcurrentDictionary<ClientConnection, Task> _running = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly RateLimitedWarnings _warnings;
    private readonly ClientTls? _tls;
    private readonly bool _tlsOptional;
    private Task? _acceptLoop;

    public ClientListener(
        IPEndPoint endpoint,
        ServerCore core,
        NetworkOptions options,
        ILogger logger,
        Func<string, IPEndPoint, Task<string>> fourLetterWords,
        ClientTls? tls = null,
        bool tlsOptional = false)
    {
        _tls = tls;
        _tlsOptional = tlsOptional;
        _core = core;
        _options = options;
        _logger = logger;
        _fourLetterWords = fourLetterWords;
        _warnings = new RateLimitedWarnings(logger, TimeSpan.FromMinutes(1));
        _listener = Bind(endpoint);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    private static Socket Bind(IPEndPoint endpoint)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                listener.DualMode = true;
            }

            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endpoint);
            listener.Listen(1024);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public IPEndPoint LocalEndPoint { get; private set; }

    /// <summary>
    /// Listens on <paramref name="endpoint"/> instead (a reconfig moved this server's client
    /// address, as Apache's connection factory reconfigures): the connections already open stay.
    /// Throws, still listening where it was, when the new endpoint cannot be bound.
    /// </summary>
    public async Task RebindAsync(IPEndPoint endpoint)
    {
        var previous = _listener;
        var previousEndPoint = LocalEndPoint;
        Socket replacement;
        try
        {
            replacement = Bind(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && endpoint.Port == previousEndPoint.Port)
        {
            // The same port on another address: this listener holds it and must let go first (as Apache does).
            previous.Dispose();
            await (_acceptLoop ?? Task.CompletedTask).ConfigureAwait(false);
            try
            {
                replacement = Bind(endpoint);
            }
            catch (SocketException)
            {
                _listener = Bind(previousEndPoint);
                _acceptLoop = AcceptLoopAsync(_listener);
                throw;
            }
        }

        _listener = replacement;
        LocalEndPoint = (IPEndPoint)replacement.LocalEndPoint!;
        previous.Dispose();
        await (_acceptLoop ?? Task.CompletedTask).ConfigureAwait(false);
        _acceptLoop = AcceptLoopAsync(replacement);
    }

    public int ConnectionCount => _running.Count;

    /// <summary>The open connections, handshaken or not (a snapshot), as the cons and stat words list them.</summary>
    public ICollection<ClientConnection> Connections => _running.Keys;

    public void Start() => _acceptLoop = AcceptLoopAsync(_listener);

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (!ReferenceEquals(listener, _listener))
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogWarning("Accept failed: {Error}", e.SocketErrorCode);
                continue;
            }

            socket.NoDelay = true;
            var ip = ((IPEndPoint)socket.RemoteEndPoint!).Address;
            var key = (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
            if (_options.MaxConnections > 0 && (_options.TotalConnections?.Invoke() ?? ConnectionCount) >= _options.MaxConnections)
            {
                _core.Stats.ConnectionRejected();
                if (_warnings.ShouldLog("too many connections in all", key))
                {
                    _logger.LogWarning("Too many connections in all (maxCnxns is {Max}): refused /{Ip}", _options.MaxConnections, key);
                }

                socket.Dispose();
                continue;
            }

            var count = _perIp.AddOrUpdate(key, 1, (_, c) => c + 1);
            if (_options.MaxClientConnectionsPerIp > 0 && count > _options.MaxClientConnectionsPerIp)
            {
                _perIp.AddOrUpdate(key, 0, (_, c) => c - 1);
                _core.Stats.ConnectionRejected();
                if (_warnings.ShouldLog("too many connections", key))
                {
                    _logger.LogWarning("Too many connections from /{Ip} - max is {Max}", key, _options.MaxClientConnectionsPerIp);
                }

                socket.Dispose();
                continue;
            }

            var connection = new ClientConnection(socket, _core, _options, _logger, _warnings, _fourLetterWords, _tls, _tlsOptional);
            // Registered before it runs: a connection that ends at once must still find its entry to remove.
            var run = new Task<Task>(() => RunConnectionAsync(connection, key));
            _running[connection] = run.Unwrap();
            run.Start(TaskScheduler.Default);
        }
    }

    private async Task RunConnectionAsync(ClientConnection connection, string ip)
    {
        try
        {
            await connection.RunAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Connection from {Remote} failed", connection.RemoteEndPoint);
        }
        finally
        {
            _perIp.AddOrUpdate(ip, 0, (_, c) => c - 1);
            _running.TryRemove(connection, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_running.Values).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _warnings.Dispose();
    }
}
