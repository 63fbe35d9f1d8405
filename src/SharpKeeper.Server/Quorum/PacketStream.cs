using System.Buffers.Binary;
using System.Text;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Reads and writes quorum packets (and the raw jute values of a SNAP transfer) on one stream.
/// Reads come from one task and writes from another; each side is sequential. A malformed or
/// oversized value throws <see cref="InvalidDataException"/>, which ends the connection.
/// </summary>
public sealed class PacketStream(Stream input, Stream output, int maxBuffer) : IAsyncDisposable
{
    /// <summary>A connection's stream (plain or TLS), buffered separately for reading and writing (which go on at the same time).</summary>
    public static PacketStream ForConnection(Stream connection, int maxBuffer) =>
        new(new BufferedStream(connection, 1 << 16), new BufferedStream(connection, 1 << 16), maxBuffer);

    private readonly byte[] _scratch = new byte[8];
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly JuteWriter _writer = new(4096);

    public Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

    public async Task<QuorumPacket> ReadAsync(CancellationToken cancellationToken)
    {
        var type = await ReadIntAsync(cancellationToken).ConfigureAwait(false);
        var zxid = await ReadLongAsync(cancellationToken).ConfigureAwait(false);
        var data = await ReadBufferAsync(cancellationToken).ConfigureAwait(false);
        var count = await ReadIntAsync(cancellationToken).ConfigureAwait(false);
        List<Id>? auth = null;
        if (count >= 0)
        {
            if (count > 1024)
            {
                throw new InvalidDataException($"{count} auth ids in a quorum packet");
            }

            auth = new List<Id>(count);
            for (var i = 0; i < count; i++)
            {
                var scheme = await ReadStringAsync(cancellationToken).ConfigureAwait(false);
                var ident = await ReadStringAsync(cancellationToken).ConfigureAwait(false);
                auth.Add(new Id(scheme ?? "", ident ?? ""));
            }
        }

        return new QuorumPacket(type, zxid, data, auth);
    }

    /// <summary>Reads the next packet; one that does not come within <paramref name="limit"/> ends the role, naming <paramref name="expected"/>.</summary>
    public async Task<QuorumPacket> ReadWithinAsync(TimeSpan limit, string expected, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            return await ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new QuorumException($"waited {limit.TotalMilliseconds} ms for {expected}");
        }
    }

    public async Task WriteAsync(QuorumPacket packet, CancellationToken cancellationToken, bool flush = true)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _writer.Reset();
            packet.Write(_writer);
            await output.WriteAsync(_writer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            if (flush)
            {
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Writes raw bytes (a serialized snapshot) between packets.</summary>
    public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<int> ReadIntAsync(CancellationToken cancellationToken)
    {
        await input.ReadExactlyAsync(_scratch.AsMemory(0, 4), cancellationToken).ConfigureAwait(false);
        return BinaryPrimitives.ReadInt32BigEndian(_scratch);
    }

    public async Task<long> ReadLongAsync(CancellationToken cancellationToken)
    {
        await input.ReadExactlyAsync(_scratch.AsMemory(0, 8), cancellationToken).ConfigureAwait(false);
        return BinaryPrimitives.ReadInt64BigEndian(_scratch);
    }

    public async Task<byte[]?> ReadBufferAsync(CancellationToken cancellationToken)
    {
        var length = await ReadIntAsync(cancellationToken).ConfigureAwait(false);
        if (length < 0)
        {
            return null;
        }

        if (length > maxBuffer)
        {
            throw new InvalidDataException($"quorum packet field of {length} bytes exceeds the limit of {maxBuffer}");
        }

        var bytes = new byte[length];
        await input.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    public async Task<string?> ReadStringAsync(CancellationToken cancellationToken)
    {
        var bytes = await ReadBufferAsync(cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        await input.DisposeAsync().ConfigureAwait(false);
        await output.DisposeAsync().ConfigureAwait(false);
        _writer.Dispose();
        _writeGate.Dispose();
    }
}
