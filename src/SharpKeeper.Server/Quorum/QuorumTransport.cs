using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Turns a connected socket between two servers (quorum or election port) into the stream the
/// protocol runs on, as Apache 3.8 does: with sslQuorum every connection this server opens starts
/// with a TLS handshake, and its listeners take only TLS; with portUnification its listeners take
/// TLS and plain both, told apart by the first byte (a TLS handshake record; plain quorum and
/// election traffic starts with 0x00 or 0xff); with neither, everything is plain.
/// </summary>
public sealed class QuorumTransport(QuorumTls? tls, bool dialTls, bool acceptPlain, ILogger logger, RateLimitedWarnings warnings)
{
    /// <summary>How long a TLS handshake (or the first byte of a unified port) may take.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    public static QuorumTransport Plain(ILogger logger) => new(null, false, true, logger, new RateLimitedWarnings(logger, Timeout.InfiniteTimeSpan));

    /// <summary>The stream of a connection this server opened to the server line's <paramref name="host"/>; the socket is owned by it.</summary>
    public async Task<Stream> OpenAsync(Socket socket, string host, CancellationToken cancellationToken)
    {
        var network = new NetworkStream(socket, ownsSocket: true);
        if (!dialTls || tls is null)
        {
            return network;
        }

        var secure = new SslStream(network, leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeTimeout);
        try
        {
            await secure.AuthenticateAsClientAsync(tls.ClientOptions(host, socket.RemoteEndPoint), timeout.Token).ConfigureAwait(false);
            return secure;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException)
        {
            await secure.DisposeAsync().ConfigureAwait(false);
            throw new QuorumTransportException(
                $"TLS handshake with {host} ({socket.RemoteEndPoint}) failed: {(e is OperationCanceledException && !cancellationToken.IsCancellationRequested ? $"not done within {HandshakeTimeout.TotalSeconds} s" : e.Message)}", e);
        }
    }

    /// <summary>
    /// The stream of a connection this server accepted; the socket is owned by it. A plain
    /// connection where only TLS is taken, or a failed handshake, throws <see cref="QuorumTransportException"/> (logged, rate-limited).
    /// </summary>
    public async Task<Stream> AcceptAsync(Socket socket, string port, CancellationToken cancellationToken)
    {
        var remote = socket.RemoteEndPoint;
        if (tls is null)
        {
            return new NetworkStream(socket, ownsSocket: true);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeTimeout);

        // As Apache's unified socket: no first byte in time (or a reset) is taken as plain.
        if (acceptPlain && !await TlsMaterial.StartsTlsAsync(socket, timeout.Token).ConfigureAwait(false))
        {
            return new NetworkStream(socket, ownsSocket: true);
        }

        var secure = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await secure.AuthenticateAsServerAsync(tls.ServerOptions(remote), timeout.Token).ConfigureAwait(false);
            return secure;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException)
        {
            await secure.DisposeAsync().ConfigureAwait(false);
            var reason = e is OperationCanceledException && !cancellationToken.IsCancellationRequested ? $"not done within {HandshakeTimeout.TotalSeconds} s" : e.Message;
            if (!cancellationToken.IsCancellationRequested && warnings.ShouldLog("quorum TLS handshake failed", SourceOf(remote)))
            {
                logger.LogWarning(
                    "Closing a connection from {Remote} on the {Port} port: TLS handshake failed ({Reason}){Hint}",
                    remote, port, reason, acceptPlain ? "" : "; only TLS is taken (sslQuorum without portUnification)");
            }

            throw new QuorumTransportException($"TLS handshake with {remote} failed: {reason}", e);
        }
    }

    private static string SourceOf(EndPoint? remote) => (remote as IPEndPoint)?.Address.ToString() ?? remote?.ToString() ?? "?";
}

/// <summary>A connection between servers that could not be secured (TLS) or authenticated (SASL): it is closed.</summary>
public sealed class QuorumTransportException(string message, Exception? inner = null) : IOException(message, inner);
