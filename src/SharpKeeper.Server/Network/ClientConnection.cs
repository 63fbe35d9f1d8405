using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Network;

/// <summary>
/// One client socket: decodes length-prefixed jute frames into core messages, and writes the core's
/// replies through a pipe that a send loop drains to the socket. Any malformed input closes this
/// connection only.
/// </summary>
public sealed class ClientConnection : IClientConnection
{
    private static long s_nextId;

    private readonly Socket _socket;
    private readonly ServerCore _core;
    private readonly NetworkOptions _options;
    private readonly ILogger _logger;
    private readonly SendScheduler _sendScheduler = new();
    private readonly Pipe _output;
    private readonly JuteWriter _scratch = new(512);
    private readonly RateLimitedWarnings _warnings;
    private readonly Func<string, IPEndPoint, Task<string>> _fourLetterWords;
    private readonly ClientTls? _tls;
    private readonly bool _tlsOptional;
    private SslStream? _secure;
    private int _closed;

    /// <param name="tls">TLS for this connection, or null for plain text.</param>
    /// <param name="tlsOptional">Port unification: TLS only when the client's first byte starts a TLS handshake.</param>
    public ClientConnection(
        Socket socket,
        ServerCore core,
        NetworkOptions options,
        ILogger logger,
        RateLimitedWarnings warnings,
        Func<string, IPEndPoint, Task<string>> fourLetterWords,
        ClientTls? tls = null,
        bool tlsOptional = false)
    {
        _output = new Pipe(new PipeOptions(readerScheduler: _sendScheduler, pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _tls = tls;
        _tlsOptional = tlsOptional;
        _socket = socket;
        _core = core;
        _options = options;
        _logger = logger;
        _warnings = warnings;
        _fourLetterWords = fourLetterWords;
        ConnectionId = Interlocked.Increment(ref s_nextId);
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        RemoteAddress = address.ToString();
        RemoteEndPoint = new IPEndPoint(address, remote.Port);
        Stats = new ConnectionStats { EstablishedWallMillis = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        AuthInfo = [new Id(AuthProviders.Ip, RemoteAddress)];
    }

    public long ConnectionId { get; }
    public string RemoteAddress { get; }
    public IPEndPoint RemoteEndPoint { get; }
    public long SessionId { get; set; }
    public IReadOnlyList<Id> AuthInfo { get; set; }
    public ConnectionStats Stats { get; }
    public bool IsClosed => Volatile.Read(ref _closed) != 0;
    public int NegotiatedTimeout { get; private set; }

    /// <summary>
    /// True when the ConnectRequest had no readOnly byte (clients before 3.4, ClickHouse's): its
    /// ConnectResponse then has none either, as Apache ZooKeeper answers such clients.
    /// </summary>
    public bool IsOldClient { get; private set; }

    public IReadOnlyList<Id> TransportIds { get; private set; } = [];

    /// <summary>Runs the connection until either side closes it.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_tls is not null && (!_tlsOptional || await TlsMaterial.StartsTlsAsync(_socket, cancellationToken).ConfigureAwait(false))
            && !await HandshakeAsync(_tls, cancellationToken).ConfigureAwait(false))
        {
            _socket.Dispose();
            return;
        }

        var sending = SendLoopAsync();
        try
        {
            await ReceiveLoopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            // The core closes the output (it owns the writer), which ends the send loop; at shutdown
            // the core may be gone, so the send loop is cancelled directly.
            _core.Post(new ConnectionClosedMessage(this));
            if (cancellationToken.IsCancellationRequested)
            {
                _output.Reader.CancelPendingRead();
            }

            await sending.ConfigureAwait(false);
            _socket.Dispose();
        }
    }

    /// <summary>The TLS handshake, bounded in time; a client that fails it is logged (rate-limited) and dropped.</summary>
    private async Task<bool> HandshakeAsync(ClientTls tls, CancellationToken cancellationToken)
    {
        var secure = new SslStream(new NetworkStream(_socket, ownsSocket: false), leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeTimeout);
        try
        {
            await secure.AuthenticateAsServerAsync(tls.ServerOptions(), timeout.Token).ConfigureAwait(false);
            TransportIds = tls.IdentitiesOf(secure.RemoteCertificate);
            _secure = secure;
            return true;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            _core.Stats.FrameRejected();
            if (!cancellationToken.IsCancellationRequested && _warnings.ShouldLog("TLS handshake failed", RemoteAddress))
            {
                _logger.LogWarning(
                    "Closing connection from {Remote} on the secure client port: TLS handshake failed ({Reason})",
                    RemoteEndPoint, e is OperationCanceledException ? $"not done within {HandshakeTimeout.TotalSeconds} s" : e.Message);
            }

            await secure.DisposeAsync().ConfigureAwait(false);
            return false;
        }
    }

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        await using var plain = _secure is null ? new NetworkStream(_socket, ownsSocket: false) : null;
        var reader = PipeReader.Create((Stream?)_secure ?? plain!, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        var handshaken = false;
        while (!IsClosed)
        {
            if (handshaken)
            {
                // globalOutstandingLimit: no new requests while the core has that many unanswered.
                await _core.Throttle.WaitOpenAsync(cancellationToken).ConfigureAwait(false);
            }

            var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            try
            {
                while (!IsClosed && TryTakeFrame(ref buffer, handshaken, out var frame, out var fourLetterWord))
                {
                    if (fourLetterWord is not null)
                    {
                        await AnswerFourLetterWordAsync(fourLetterWord).ConfigureAwait(false);
                        return;
                    }

                    Stats.PacketReceived();
                    if (!handshaken)
                    {
                        OnConnectFrame(frame);
                        handshaken = true;
                    }
                    else
                    {
                        OnRequestFrame(frame);
                    }
                }
            }
            catch (JuteException e)
            {
                _core.Stats.FrameRejected();
                if (_warnings.ShouldLog("malformed request", RemoteAddress))
                {
                    _logger.LogWarning("Closing connection from {Remote}: malformed request ({Reason})", RemoteEndPoint, e.Message);
                }

                return;
            }
            catch (ClientFraming.FrameTooLargeException e)
            {
                _core.Stats.FrameRejected();
                if (_warnings.ShouldLog("packet length out of range", RemoteAddress))
                {
                    _logger.LogWarning(
                        "Closing connection from {Remote}: packet length {Length} is out of range (jute.maxbuffer is {Max})",
                        RemoteEndPoint, e.Length, _options.JuteMaxBuffer);
                }

                return;
            }
            finally
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                // Every request of this read is queued first: the core takes them as one batch, with
                // one log flush and one send for all their replies.
                _core.RunQueued();
            }

            if (read.IsCompleted)
            {
                return;
            }
        }
    }

    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, bool handshaken, out ReadOnlySequence<byte> frame, out string? fourLetterWord) =>
        ClientFraming.TryTakeFrame(ref buffer, handshaken, _options.JuteMaxBuffer, out frame, out fourLetterWord);

    private void OnConnectFrame(ReadOnlySequence<byte> frame)
    {
        var request = Decode(frame, static (ref JuteReader r) => ConnectRequest.Read(ref r));
        if (!request.HasReadOnlyFlag)
        {
            IsOldClient = true;
            if (_warnings.ShouldLog("old client", RemoteAddress))
            {
                _logger.LogInformation("Connection request from old client {Remote} (no readOnly flag): its replies leave the flag out", RemoteEndPoint);
            }
        }

        _core.Queue(new ConnectMessage(this, request));
    }

    private void OnRequestFrame(ReadOnlySequence<byte> frame)
    {
        var request = Decode(frame, _decodeRequest ??= DecodeRequest);
        if (request is null)
        {
            return;
        }

        _core.Queue(new RequestMessage(request));
    }

    // Made once: a method group of an instance method becomes a new delegate at every use.
    private Decoder<ClientRequest?>? _decodeRequest;

    private ClientRequest? DecodeRequest(ref JuteReader r)
    {
        var decoded = RequestDecoding.Decode(ref r);
        if (!decoded.IsKnown)
        {
            RejectUnknown(decoded.Header);
            return null;
        }

        return new ClientRequest
        {
            Connection = this,
            Xid = decoded.Header.Xid,
            Type = decoded.Header.Type,
            Body = decoded.Body,
            MultiOps = decoded.MultiOps,
            SetWatches = decoded.SetWatches,
            Auth = decoded.Auth,
            SaslToken = decoded.SaslToken,
            Reconfig = decoded.Reconfig,
            ReceivedMonotonicMillis = _core.Clock.MonotonicMillis,
        };
    }

    /// <summary>As ZooKeeper: an unknown request type is answered with Unimplemented and the connection closed.</summary>
    private void RejectUnknown(RequestHeader header)
    {
        _core.Stats.FrameRejected();
        if (_warnings.ShouldLog("unknown request type", RemoteAddress))
        {
            _logger.LogWarning("Received packet of unknown type {Type} from {Remote}; closing the connection", (int)header.Type, RemoteEndPoint);
        }

        _core.Queue(new UnknownRequestMessage(this, header.Xid));
    }

    private delegate T Decoder<T>(ref JuteReader reader);

    private static T Decode<T>(ReadOnlySequence<byte> frame, Decoder<T> decode)
    {
        if (frame.IsSingleSegment)
        {
            var reader = new JuteReader(frame.FirstSpan);
            return decode(ref reader);
        }

        var rented = ArrayPool<byte>.Shared.Rent((int)frame.Length);
        try
        {
            frame.CopyTo(rented);
            var reader = new JuteReader(rented.AsSpan(0, (int)frame.Length));
            return decode(ref reader);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private async Task AnswerFourLetterWordAsync(string word)
    {
        string text;
        try
        {
            text = await _fourLetterWords(word, RemoteEndPoint).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Four-letter word {Word} failed", word);
            text = "";
        }

        // Before a handshake the core never writes to this connection, so this thread may.
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        _output.Writer.Write(bytes);
        await _output.Writer.FlushAsync().ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync().ConfigureAwait(false);
                if (read.IsCanceled)
                {
                    break;
                }

                foreach (var segment in read.Buffer)
                {
                    if (_secure is not null)
                    {
                        await _secure.WriteAsync(segment).ConfigureAwait(false);
                        continue;
                    }

                    var remaining = segment;
                    while (!remaining.IsEmpty)
                    {
                        var sent = await _socket.SendAsync(remaining, SocketFlags.None).ConfigureAwait(false);
                        remaining = remaining[sent..];
                    }
                }

                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            _socket.Close();
            if (_secure is not null)
            {
                await _secure.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public void SendConnectResponse(ConnectResponse response)
    {
        NegotiatedTimeout = response.Timeout;
        _scratch.Reset();
        _scratch.BeginFrame();
        (IsOldClient ? response with { HasReadOnlyFlag = false } : response).Write(_scratch);
        _scratch.EndFrame();
        Write(_scratch.WrittenSpan);
    }

    public int SendReply(in ReplyHeader header, Response? body)
    {
        _scratch.Reset();
        _scratch.BeginFrame();
        header.Write(_scratch);
        body?.Write(_scratch);
        _scratch.EndFrame();
        Write(_scratch.WrittenSpan);
        return _scratch.WrittenSpan.Length - sizeof(int);
    }

    public void Process(EventType type, string path, IReadOnlyList<Acl>? nodeAcl)
    {
        if (IsClosed || (nodeAcl is not null && !_core.Options.SkipAcl && !AclChecker.IsAllowed(nodeAcl, Perms.Read, AuthInfo)))
        {
            return;
        }

        _scratch.Reset();
        _scratch.BeginFrame();
        new ReplyHeader(Xids.Notification, -1, ErrorCode.Ok).Write(_scratch);
        _scratch.WriteInt((int)type);
        _scratch.WriteInt((int)KeeperState.SyncConnected);
        _scratch.WriteString(path);
        _scratch.EndFrame();
        Write(_scratch.WrittenSpan);
        Stats.PacketSent();
        _core.MarkDirty(this);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        if (!IsClosed)
        {
            _output.Writer.Write(bytes);
        }
    }

    public void Flush(bool sendHere)
    {
        if (!IsClosed)
        {
            // The pipe schedules the send loop's continuation within FlushAsync, on this thread.
            _sendScheduler.SendsInline = sendHere;
            _ = _output.Writer.FlushAsync();
            _sendScheduler.SendsInline = false;
        }
    }

    /// <summary>
    /// Resumes the send loop either on the flushing thread (then a reply reaches the socket before
    /// Flush returns, with no other thread woken) or on the thread pool; a full socket buffer leaves
    /// the rest to the socket's own completion either way.
    /// </summary>
    private sealed class SendScheduler : PipeScheduler
    {
        public bool SendsInline { get; set; }

        public override void Schedule(Action<object?> action, object? state)
        {
            if (SendsInline)
            {
                action(state);
            }
            else
            {
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
            }
        }
    }

    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _logger.LogDebug("Closing connection {Id} from {Remote} (session 0x{Session:x}): {Reason}", ConnectionId, RemoteEndPoint, SessionId, reason);

        // Completing the writer commits what is queued; the send loop drains it, then shuts the socket.
        _output.Writer.Complete();
    }
}
