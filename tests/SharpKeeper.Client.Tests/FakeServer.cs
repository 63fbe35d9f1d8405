using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client.Tests;

/// <summary>
/// A scripted ZooKeeper server on 127.0.0.1 (OS-chosen port): it answers the handshake (as <see cref="Handshake"/>
/// says) and hands each connection to the test, which reads requests and writes replies frame by frame.
/// </summary>
internal sealed class FakeServer : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Channel<FakeConnection> _accepted = Channel.CreateUnbounded<FakeConnection>();
    private readonly List<FakeConnection> _all = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private long _nextSessionId = 0x7100;

    public FakeServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    public string ConnectString => $"127.0.0.1:{Port}";

    /// <summary>Answers a ConnectRequest; null closes the connection without an answer. Default: accept, echo the timeout.</summary>
    public Func<ConnectRequest, ConnectResponse?>? Handshake { get; set; }

    public static readonly byte[] Password = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];

    public ConnectResponse Accept(ConnectRequest request) =>
        new(0, request.Timeout, request.SessionId != 0 ? request.SessionId : Interlocked.Increment(ref _nextSessionId), Password, false);

    /// <summary>The next connection whose handshake was answered.</summary>
    public async Task<FakeConnection> AcceptAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await _accepted.Reader.ReadAsync(timeout.Token);
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                var connection = new FakeConnection(socket);
                lock (_all)
                {
                    _all.Add(connection);
                }

                _ = HandshakeAsync(connection);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException
            or InvalidOperationException && _stop.IsCancellationRequested)
        {
            // Stopped. A loop between two accepts when the listener stops gets "Not listening" instead of a cancellation.
        }
    }

    private async Task HandshakeAsync(FakeConnection connection)
    {
        try
        {
            var frame = await connection.ReadFrameAsync();
            var r = new JuteReader(frame);
            connection.ConnectFrameLength = frame.Length;
            connection.Connect = ConnectRequest.Read(ref r);
            var response = (Handshake ?? Accept)(connection.Connect);
            if (response is null)
            {
                connection.Close();
                return;
            }

            connection.Response = response;
            await connection.SendAsync(response.Write);
            await _accepted.Writer.WriteAsync(connection);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        lock (_all)
        {
            foreach (var connection in _all)
            {
                connection.Close();
            }
        }

        _stop.Dispose();
    }
}

/// <summary>One request as the fake server read it.</summary>
internal sealed record FakeRequest(RequestHeader Header, byte[] Body)
{
    public int Xid => Header.Xid;

    public OpCode Op => Header.Type;

    public PathRequest? PathBody
    {
        get
        {
            var r = new JuteReader(Body);
            return RequestCodec.ReadPathRequest(Op, ref r);
        }
    }

    public string? Path => PathBody?.Path;

    public T Decode<T>(JuteDecoder<T> decoder)
    {
        var r = new JuteReader(Body);
        return decoder(ref r);
    }
}

internal delegate T JuteDecoder<T>(ref JuteReader reader);

internal sealed class FakeConnection(Socket socket)
{
    private readonly NetworkStream _stream = new(socket, ownsSocket: true);
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public ConnectRequest Connect { get; set; } = null!;

    public ConnectResponse Response { get; set; } = null!;

    public int ConnectFrameLength { get; set; }

    public async Task<byte[]> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(FakeServer.Patience);
        var prefix = new byte[4];
        await _stream.ReadExactlyAsync(prefix, timeout.Token);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        await _stream.ReadExactlyAsync(body, timeout.Token);
        return body;
    }

    /// <summary>The next request frame (pings included).</summary>
    public async Task<FakeRequest> ReadRequestAsync()
    {
        var frame = await ReadFrameAsync();
        var r = new JuteReader(frame);
        var header = RequestHeader.Read(ref r);
        return new FakeRequest(header, frame[r.Position..]);
    }

    /// <summary>The next request that is not a ping.</summary>
    public async Task<FakeRequest> ReadNonPingAsync()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var request = await ReadRequestAsync();
            if (request.Op != OpCode.Ping)
            {
                return request;
            }
        }

        throw new InvalidOperationException("only pings");
    }

    /// <summary>True when the client closed its end (reads end), within the patience.</summary>
    public async Task<bool> ClosedByPeerAsync()
    {
        using var timeout = new CancellationTokenSource(FakeServer.Patience);
        var buffer = new byte[4096];
        try
        {
            while (await _stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public Task ReplyAsync(int xid, long zxid, ErrorCode err, Response? body = null) =>
        SendAsync(w =>
        {
            new ReplyHeader(xid, zxid, err).Write(w);
            body?.Write(w);
        });

    public Task ReplyAsync(FakeRequest request, long zxid, ErrorCode err = ErrorCode.Ok, Response? body = null) => ReplyAsync(request.Xid, zxid, err, body);

    public Task NotifyAsync(EventType type, string path, KeeperState state = KeeperState.SyncConnected) =>
        SendAsync(w =>
        {
            new ReplyHeader(Xids.Notification, -1, ErrorCode.Ok).Write(w);
            new WatcherEvent(type, state, path).Write(w);
        });

    public async Task SendAsync(Action<JuteWriter> body)
    {
        using var w = new JuteWriter();
        w.BeginFrame();
        body(w);
        w.EndFrame();
        await SendRawAsync(w.ToArray());
    }

    public async Task SendRawAsync(byte[] bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Close()
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _stream.Dispose();
    }
}
