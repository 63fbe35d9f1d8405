using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>
/// One TCP connection of a session: the socket (plain or TLS), a pipe reader over it, the batch buffer the writer loop
/// fills, and the requests in flight on it (in wire order).
/// </summary>
internal sealed class Connection : IDisposable
{
    private const int OutputCapacity = 64 * 1024;
    private readonly CancellationTokenSource _cts = new();
    private int _disposed;
    private Exception? _failure;

    /// <param name="stream">The socket's stream, plain or TLS; it owns the socket.</param>
    public Connection(Socket socket, Stream stream, string endPoint, int maxFrameSize)
    {
        Socket = socket;
        EndPoint = endPoint;
        MaxFrameSize = maxFrameSize;
        Stream = stream;
        Reader = PipeReader.Create(Stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
        Token = _cts.Token;
        LastReceive = LastSend = Environment.TickCount64;
    }

    public Socket Socket { get; }

    public string EndPoint { get; }

    public int MaxFrameSize { get; }

    public Stream Stream { get; }

    public PipeReader Reader { get; }

    public CancellationToken Token { get; }

    /// <summary>Frames waiting to be written; used by the handshake and then only by the writer loop.</summary>
    public JuteWriter Output { get; private set; } = new(OutputCapacity);

    /// <summary>Normal, close and setWatches requests on the wire, in the order the replies will come.</summary>
    public ConcurrentQueue<PendingRequest> InFlight { get; } = new();

    /// <summary>Auth packets on the wire; the server answers them out of band, in order among themselves.</summary>
    public ConcurrentQueue<PendingRequest> Auths { get; } = new();

    public ConnectResponse? Response { get; set; }

    public long LastReceive { get; set; }

    public long LastSend { get; set; }

    /// <summary>Why the connection ended (first reason wins).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    public void Fail(Exception reason) => Interlocked.CompareExchange(ref _failure, reason, null);

    /// <summary>Drops everything written after <paramref name="length"/> (a request whose body failed to serialize).</summary>
    public void TruncateOutput(int length)
    {
        var fresh = new JuteWriter(Math.Max(OutputCapacity, length));
        fresh.WriteRaw(Output.WrittenSpan[..length]);
        Output.Dispose();
        Output = fresh;
    }

    /// <summary>After a flush: keep the buffer unless a huge request inflated it.</summary>
    public void ResetOutput()
    {
        if (Output.Length > 4 * OutputCapacity)
        {
            Output.Dispose();
            Output = new JuteWriter(OutputCapacity);
        }
        else
        {
            Output.Reset();
        }
    }

    /// <summary>Stops the loops and closes the socket; safe from any thread, any number of times.</summary>
    public void Abort()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Abort();
        Reader.Complete();
        Stream.Dispose();
        Output.Dispose();
        _cts.Dispose();
    }

    /// <summary>
    /// Cuts one frame (4-byte big-endian length, then the body) off the front of <paramref name="buffer"/>.
    /// A negative or oversized length is a protocol error.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < 4)
        {
            return false;
        }

        int length;
        if (buffer.FirstSpan.Length >= 4)
        {
            length = BinaryPrimitives.ReadInt32BigEndian(buffer.FirstSpan);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[4];
            buffer.Slice(0, 4).CopyTo(prefix);
            length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        }

        if (length < 0 || length > maxFrameSize)
        {
            throw new ZkProtocolException($"frame length {length} is out of range (max {maxFrameSize})");
        }

        if (buffer.Length - 4 < length)
        {
            return false;
        }

        frame = buffer.Slice(4, length);
        buffer = buffer.Slice(frame.End);
        return true;
    }
}

/// <summary>The server broke the protocol (bad frame length, reply out of order, undecodable reply); the connection is dropped.</summary>
public sealed class ZkProtocolException(string message, Exception? inner = null) : IOException(message, inner);
