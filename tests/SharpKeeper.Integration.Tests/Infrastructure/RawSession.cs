using System.Buffers.Binary;
using System.Net.Sockets;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>
/// A bare client-protocol session over one socket, one request at a time, recording every frame
/// the server sends in order (replies and watch events). For differential and hostile-input tests,
/// where exact wire behaviour matters more than convenience.
/// </summary>
public sealed class RawSession : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private int _xid;

    internal RawSession(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _stream.ReadTimeout = 10000;
    }

    public long SessionId { get; private set; }
    public byte[] Password { get; private set; } = [];
    public int Timeout { get; private set; }

    /// <summary>Watch events received, in arrival order, with how many replies had arrived before each.</summary>
    public List<(WatcherEvent Event, int RepliesBefore)> Events { get; } = [];

    public int RepliesReceived { get; private set; }

    public static async Task<RawSession> ConnectAsync(int port, int timeoutMs = 30000, long sessionId = 0, byte[]? password = null)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        var session = new RawSession(client);
        using var w = new JuteWriter();
        w.BeginFrame();
        new ConnectRequest(0, 0, timeoutMs, sessionId, password ?? new byte[16], false).Write(w);
        w.EndFrame();
        await session._stream.WriteAsync(w.WrittenMemory);
        var frame = await session.ReadFrameAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? throw new IOException($"127.0.0.1:{port} closed the connection during the handshake");
        var r = new JuteReader(frame);
        var response = ConnectResponse.Read(ref r);
        session.SessionId = response.SessionId;
        session.Password = response.Password;
        session.Timeout = response.Timeout;
        return session;
    }

    public Task<(ReplyHeader Header, Response? Body)> SendAsync(OpCode op, PathRequest? body) =>
        SendAsync(op, w => { if (body is not null) { RequestCodec.WritePathRequest(w, op, body); } });

    public Task<(ReplyHeader Header, Response? Body)> MultiAsync(IEnumerable<MultiOp> ops, bool read = false) =>
        SendAsync(read ? OpCode.MultiRead : OpCode.Multi, w => RequestCodec.WriteMulti(w, ops));

    public async Task<(ReplyHeader Header, Response? Body)> SendAsync(OpCode op, Action<JuteWriter> writeBody, int? xid = null)
    {
        var requestXid = xid ?? ++_xid;
        using var w = new JuteWriter();
        w.BeginFrame();
        new RequestHeader(requestXid, op).Write(w);
        writeBody(w);
        w.EndFrame();
        await _stream.WriteAsync(w.WrittenMemory);
        return await ReadReplyAsync(op);
    }

    /// <summary>Reads frames until the next reply, recording watch events on the way.</summary>
    public async Task<(ReplyHeader Header, Response? Body)> ReadReplyAsync(OpCode op)
    {
        while (true)
        {
            var frame = await ReadFrameAsync() ?? throw new IOException("connection closed");
            var (header, body, watchEvent) = Decode(frame, op);
            if (watchEvent is not null)
            {
                Events.Add((watchEvent, RepliesReceived));
                continue;
            }

            RepliesReceived++;
            return (header, body);
        }
    }

    /// <summary>Waits for a watch event that is not yet recorded (sending a ping to pump the stream).</summary>
    public async Task<WatcherEvent?> WaitForEventAsync(int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Events.Count < count && DateTime.UtcNow < until)
        {
            await SendAsync(OpCode.Ping, _ => { }, Xids.Ping);
        }

        return Events.Count >= count ? Events[count - 1].Event : null;
    }

    private static (ReplyHeader Header, Response? Body, WatcherEvent? Event) Decode(byte[] frame, OpCode op)
    {
        var r = new JuteReader(frame);
        var header = ReplyHeader.Read(ref r);
        if (header.Xid == Xids.Notification)
        {
            return (header, null, WatcherEvent.Read(ref r));
        }

        var body = header.Err == ErrorCode.Ok && !r.AtEnd ? ResponseCodec.Read(op, ref r) : null;
        return (header, body, null);
    }

    /// <summary>Reads one length-prefixed frame; null when the server closed the connection.</summary>
    public async Task<byte[]?> ReadFrameAsync()
    {
        var prefix = new byte[4];
        if (!await ReadExactlyAsync(prefix))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        var frame = new byte[length];
        return await ReadExactlyAsync(frame) ? frame : null;
    }

    /// <summary>True when the server has closed this connection (reads hit end of stream) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public Task WriteRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    private async Task<bool> ReadExactlyAsync(byte[] buffer)
    {
        try
        {
            await _stream.ReadExactlyAsync(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    /// <summary>Ends the session with closeSession when it is still open, so it does not expire later mid-test.</summary>
    public async ValueTask DisposeAsync()
    {
        if (SessionId != 0 && _client.Connected)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await SendAsync(OpCode.CloseSession, _ => { }).WaitAsync(cts.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or TimeoutException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
            }
        }

        _client.Dispose();
    }
}

/// <summary>Wraps an already-connected socket without a handshake.</summary>
public static class RawSessionFactory
{
    public static RawSession Wrap(TcpClient client) => new(client);
}
