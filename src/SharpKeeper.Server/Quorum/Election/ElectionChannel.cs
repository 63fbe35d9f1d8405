using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace SharpKeeper.Server.Quorum.Election;

/// <summary>
/// The election port, as Apache ZooKeeper's QuorumCnxManager runs it: one TCP connection per pair of
/// servers, always kept by the one with the larger id (a smaller id that dials is hung up on and
/// called back). A connection opens with the dialer's protocol version (-65536, or -65535 with
/// multiAddress.enabled), id and election addresses; a peer's addresses are dialled in turn. Then each message is an int length and the notification bytes. Only the newest
/// undelivered message per peer is kept, and the last one sent is repeated on a new connection.
/// With sslQuorum the connection is TLS from its first byte; with quorum SASL the dialer
/// authenticates right after its initial message, before the larger-id rule drops the connection.
/// </summary>
public sealed class ElectionChannel : IAsyncDisposable
{
    public const long ProtocolVersionV1 = -65536L;
    public const long ProtocolVersionV2 = -65535L;
    private const int MaxMessage = 512 * 1024;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly long _myId;
    private volatile IReadOnlyDictionary<long, IReadOnlyList<EndPoint>> _peers;
    private readonly string _myAddressText;
    private readonly long _protocolVersion;
    private readonly IReadOnlyList<IPEndPoint> _listenOn;
    private readonly ILogger _logger;
    private readonly QuorumTransport _transport;
    private readonly QuorumSasl? _sasl;
    private readonly Channel<(long From, byte[] Message)> _received = Channel.CreateUnbounded<(long, byte[])>();
    private readonly ConcurrentDictionary<long, PeerLink> _links = new();
    private readonly ConcurrentDictionary<long, byte[]> _lastSent = new();
    private readonly ConcurrentDictionary<long, long> _lastRedial = new();
    private readonly Lock _dialGate = new();
    private readonly HashSet<long> _dialing = [];
    private readonly HashSet<long> _dialAgain = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];

    /// <param name="listenOn">Every address this server listens on (several with multiAddress.enabled).</param>
    /// <param name="myAddressText">This server's election addresses as its initial message names them (<c>host:port</c>, '|' between several).</param>
    /// <param name="peers">Each peer's election addresses, tried in turn until one connects.</param>
    /// <param name="multiAddress">Greets with protocol version 2 (several addresses), as Apache does with multiAddress.enabled.</param>
    public ElectionChannel(
        long myId, IReadOnlyList<IPEndPoint> listenOn, string myAddressText, IReadOnlyDictionary<long, IReadOnlyList<EndPoint>> peers, ILogger logger,
        QuorumTransport? transport = null, QuorumSasl? sasl = null, bool multiAddress = false)
    {
        _protocolVersion = multiAddress ? ProtocolVersionV2 : ProtocolVersionV1;
        _transport = transport ?? QuorumTransport.Plain(logger);
        _sasl = sasl;
        _myId = myId;
        _listenOn = listenOn;
        _myAddressText = myAddressText;
        _peers = peers;
        _logger = logger;
    }

    public ChannelReader<(long From, byte[] Message)> Received => _received.Reader;

    public IPEndPoint? LocalEndPoint => _listeners.Count > 0 ? _listeners[0].LocalEndPoint as IPEndPoint : null;

    public void Start()
    {
        foreach (var endpoint in _listenOn)
        {
            var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                listener.DualMode = true;
            }

            try
            {
                listener.Bind(endpoint);
                listener.Listen(64);
            }
            catch
            {
                listener.Dispose();
                foreach (var opened in _listeners)
                {
                    opened.Dispose();
                }

                _listeners.Clear();
                throw;
            }

            _listeners.Add(listener);
        }

        foreach (var listener in _listeners)
        {
            _acceptLoops.Add(AcceptLoopAsync(listener));
        }
    }

    /// <summary>A reconfig changed the membership: whom this server can dial.</summary>
    public void UpdatePeers(IReadOnlyDictionary<long, IReadOnlyList<EndPoint>> peers) => _peers = peers;

    /// <summary>Queues a message for a server (this one included), connecting if needed.</summary>
    public void Send(long to, byte[] message)
    {
        if (to == _myId)
        {
            _received.Writer.TryWrite((_myId, message));
            return;
        }

        _lastSent[to] = message;
        if (OpenLink(to) is { } link)
        {
            link.Enqueue(message);
            return;
        }

        Dial(to);
    }

    private void Dial(long sid)
    {
        if (!_peers.TryGetValue(sid, out var addresses) || _stop.IsCancellationRequested)
        {
            return;
        }

        // Marked before the dial starts, so a dial that ends at once cannot unmark itself before it
        // was marked (which would leave the peer marked forever and never dialled again). A request
        // during a dial (the peer restarted and called) is remembered and dialled after it.
        lock (_dialGate)
        {
            if (!_dialing.Add(sid))
            {
                _dialAgain.Add(sid);
                return;
            }
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await DialAsync(sid, addresses).ConfigureAwait(false);
            }
            finally
            {
                bool again;
                lock (_dialGate)
                {
                    _dialing.Remove(sid);
                    again = _dialAgain.Remove(sid);
                }

                if (again && OpenLink(sid) is null)
                {
                    Dial(sid);
                }
            }
        });
    }

    private PeerLink? OpenLink(long sid) => _links.TryGetValue(sid, out var link) && !link.IsClosed ? link : null;

    /// <summary>Dials a peer's addresses in turn; the first that accepts carries the connection.</summary>
    private async Task DialAsync(long sid, IReadOnlyList<EndPoint> addresses)
    {
        foreach (var address in addresses)
        {
            if (await DialAsync(sid, address).ConfigureAwait(false))
            {
                PeerReachable?.Invoke(sid);
                return;
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }
        }

        PeerUnreachable?.Invoke(sid);
    }

    /// <summary>No address of a server accepted a TCP connection (its election port is closed): raised on a pool thread.</summary>
    public event Action<long>? PeerUnreachable;

    /// <summary>A server's election port accepted a connection again.</summary>
    public event Action<long>? PeerReachable;

    /// <summary>One address of a peer; false when no TCP connection could be made there (the next address is worth a try).</summary>
    private async Task<bool> DialAsync(long sid, EndPoint address)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        var attached = false;
        var connected = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(address, timeout.Token).ConfigureAwait(false);
            connected = true;
            var host = address is DnsEndPoint named ? named.Host : ((IPEndPoint)address).Address.ToString();
            stream = await _transport.OpenAsync(socket, host, timeout.Token).ConfigureAwait(false);

            var hello = Encoding.UTF8.GetBytes(_myAddressText);
            var header = new byte[20 + hello.Length];
            BinaryPrimitives.WriteInt64BigEndian(header, _protocolVersion);
            BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(8), _myId);
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(16), hello.Length);
            hello.CopyTo(header, 20);
            await stream.WriteAsync(header, timeout.Token).ConfigureAwait(false);
            await stream.FlushAsync(timeout.Token).ConfigureAwait(false);
            if (_sasl is not null)
            {
                await _sasl.AuthenticateAsLearnerAsync(stream, $"{sid} at {address}", timeout.Token).ConfigureAwait(false);
            }

            if (sid > _myId)
            {
                // The larger id keeps the connection: it will call back (the stream is closed below).
                return true;
            }

            Attach(sid, stream);
            stream = null;
            attached = true;
        }
        catch (QuorumTransportException e)
        {
            _logger.LogWarning("Cannot open election connection to server {Sid} at {Address}: {Message}", sid, address, e.Message);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            _logger.LogDebug("Cannot open election connection to server {Sid} at {Address}: {Message}", sid, address, e.Message);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            if (!attached)
            {
                socket.Dispose();
            }
        }

        return connected;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            socket.NoDelay = true;
            _ = Task.Run(() => HandshakeAsync(socket));
        }
    }

    private async Task HandshakeAsync(Socket socket)
    {
        var remote = socket.RemoteEndPoint;
        Stream? stream = null;
        var attached = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(ConnectTimeout);
            stream = await _transport.AcceptAsync(socket, "election", timeout.Token).ConfigureAwait(false);
            var sid = await ReadGreetingAsync(stream, timeout.Token).ConfigureAwait(false);
            if (_sasl is not null)
            {
                stream = await _sasl.AuthenticateAsServerAsync(stream, $"server {sid} at {remote}", timeout.Token).ConfigureAwait(false);
            }

            if (sid == _myId)
            {
                _logger.LogError(
                    "A server with this server's own id {Sid} connected to the election port from {Remote}: two servers share one myid",
                    sid, remote);
                return;
            }

            if (sid < _myId)
            {
                // This server has the larger id: it keeps the connection it dials itself.
                Dial(sid);
                return;
            }

            Attach(sid, stream);
            stream = null;
            attached = true;
        }
        catch (QuorumTransportException e)
        {
            _logger.LogDebug("Election connection from {Remote} refused: {Message}", remote, e.Message);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or InvalidDataException)
        {
            _logger.LogDebug("Election handshake from {Remote} failed: {Message}", remote, e.Message);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            if (!attached)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// The dialer's initial message: its id alone (the oldest protocol), or protocol version V1/V2,
    /// id, and an address of at most 4 KiB. Returns the id; anything else throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static async Task<long> ReadGreetingAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[8];
        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        var first = BinaryPrimitives.ReadInt64BigEndian(buffer);
        if (first >= 0)
        {
            return first;
        }

        if (first is not (ProtocolVersionV1 or ProtocolVersionV2))
        {
            throw new InvalidDataException($"unknown election protocol version {first}");
        }

        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        var sid = BinaryPrimitives.ReadInt64BigEndian(buffer);
        await stream.ReadExactlyAsync(buffer.AsMemory(0, 4), cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(buffer);
        if (length <= 0 || length > 4096)
        {
            throw new InvalidDataException($"unreasonable address length {length} in an election handshake");
        }

        await stream.ReadExactlyAsync(new byte[length], cancellationToken).ConfigureAwait(false);
        return sid;
    }

    /// <summary>One framed message after the greeting: an int length (1 to 512 KiB) and that many bytes.</summary>
    public static async Task<byte[]> ReadMessageAsync(Stream stream, byte[] lengthBytes, CancellationToken cancellationToken)
    {
        await stream.ReadExactlyAsync(lengthBytes.AsMemory(0, 4), cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(lengthBytes);
        if (length <= 0 || length > MaxMessage)
        {
            throw new InvalidDataException($"election message of {length} bytes");
        }

        var message = new byte[length];
        await stream.ReadExactlyAsync(message, cancellationToken).ConfigureAwait(false);
        return message;
    }

    private void Attach(long sid, Stream stream)
    {
        var link = new PeerLink(stream);
        if (_links.TryGetValue(sid, out var previous))
        {
            previous.Close();
        }

        _links[sid] = link;
        if (_lastSent.TryGetValue(sid, out var last))
        {
            link.Enqueue(last);
        }

        _ = link.SendLoopAsync(_stop.Token);
        _ = ReceiveLoopAsync(sid, link);
        PeerReachable?.Invoke(sid);
    }

    private async Task ReceiveLoopAsync(long sid, PeerLink link)
    {
        var lengthBytes = new byte[4];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var message = await ReadMessageAsync(link.Stream, lengthBytes, _stop.Token).ConfigureAwait(false);
                _received.Writer.TryWrite((sid, message));
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or InvalidDataException or ObjectDisposedException)
        {
            _logger.LogDebug("Election connection to server {Sid} ended: {Message}", sid, e.Message);
        }
        finally
        {
            link.Close();
            if (_links.TryRemove(new KeyValuePair<long, PeerLink>(sid, link)) && !_stop.IsCancellationRequested)
            {
                RedialLost(sid);
            }
        }
    }

    /// <summary>
    /// The connection to a peer ended (not replaced by a newer one): dial it at once. A peer that
    /// died refuses, and an election under way learns that now rather than after its finalize wait
    /// (a server killed with its election port open closes its connections, which is how it shows).
    /// A peer whose connections keep ending is dialled this way at most once a second.
    /// </summary>
    private void RedialLost(long sid)
    {
        var now = Environment.TickCount64;
        if (_lastRedial.TryGetValue(sid, out var last) && now - last < 1000)
        {
            return;
        }

        _lastRedial[sid] = now;
        Dial(sid);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        foreach (var link in _links.Values)
        {
            link.Close();
        }

        foreach (var loop in _acceptLoops)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _received.Writer.TryComplete();
        _stop.Dispose();
    }

    /// <summary>One established connection: a one-slot queue (newest message wins) and its socket.</summary>
    private sealed class PeerLink(Stream stream)
    {
        private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });

        public Stream Stream => stream;

        public bool IsClosed { get; private set; }

        public void Enqueue(byte[] message) => _queue.Writer.TryWrite(message);

        public async Task SendLoopAsync(CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var message in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    var framed = new byte[4 + message.Length];
                    BinaryPrimitives.WriteInt32BigEndian(framed, message.Length);
                    message.CopyTo(framed, 4);
                    await stream.WriteAsync(framed, cancellationToken).ConfigureAwait(false);
                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
            }
            finally
            {
                Close();
            }
        }

        public void Close()
        {
            if (IsClosed)
            {
                return;
            }

            IsClosed = true;
            _queue.Writer.TryComplete();
            stream.Dispose();
        }
    }
}
