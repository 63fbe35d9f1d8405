using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Where learners connect to a server that teaches them (the leader's quorum port, a follower's
/// observer master port): the listening sockets, an accept loop that keeps one handler per learner,
/// and each connection secured as the quorum is (TLS, then SASL) before its first packet.
/// </summary>
public sealed class LearnerListener : IDisposable
{
    private readonly QuorumContext _context;
    private readonly string _portName;
    private readonly ILogger _logger;
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _handlers = [];

    private LearnerListener(QuorumContext context, string portName, ILogger logger)
    {
        _context = context;
        _portName = portName;
        _logger = logger;
    }

    /// <summary>Listens on this server's addresses (every interface with quorumListenOnAllIPs) at the port <paramref name="port"/> picks.</summary>
    public static LearnerListener Bind(QuorumContext context, Func<ServerAddress, int> port, string portName, ILogger logger)
    {
        var listener = new LearnerListener(context, portName, logger);
        try
        {
            foreach (var endpoint in context.ListenEndPoints(port))
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                listener._sockets.Add(socket);
                if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = true;
                }

                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(endpoint);
                socket.Listen(64);
            }

            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Accepts until cancelled or disposed; each connection, once secured, goes to
    /// <paramref name="handle"/> on a task of its own (with its remote address).
    /// </summary>
    public Task AcceptAsync(Func<Stream, EndPoint?, Task> handle, CancellationToken cancellationToken) =>
        Task.WhenAll(_sockets.Select(socket => AcceptLoopAsync(socket, handle, cancellationToken)));

    /// <summary>Waits for the handlers still running (after the accepting stopped).</summary>
    public Task HandlersAsync()
    {
        lock (_handlers)
        {
            return Task.WhenAll([.. _handlers]);
        }
    }

    private async Task AcceptLoopAsync(Socket listener, Func<Stream, EndPoint?, Task> handle, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            lock (_handlers)
            {
                // Learners reconnect over a long leadership: keep only the handlers still running.
                _handlers.RemoveAll(t => t.IsCompleted);
                _handlers.Add(Task.Run(() => SecureAndHandleAsync(socket, handle, cancellationToken), CancellationToken.None));
            }
        }
    }

    private async Task SecureAndHandleAsync(Socket socket, Func<Stream, EndPoint?, Task> handle, CancellationToken cancellationToken)
    {
        var remote = socket.RemoteEndPoint;
        Stream connection;
        try
        {
            // TLS and SASL come before the learner's first packet, within initLimit.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_context.InitLimit);
            connection = await _context.Transport.AcceptAsync(socket, _portName, timeout.Token).ConfigureAwait(false);
            if (_context.Sasl is { } sasl)
            {
                connection = await sasl.AuthenticateAsServerAsync(connection, $"{remote}", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            _logger.LogInformation("Connection from {Remote} on the {Port} port refused: {Message}", remote, _portName, e.Message);
            socket.Dispose();
            return;
        }

        await handle(connection, remote).ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }
}
