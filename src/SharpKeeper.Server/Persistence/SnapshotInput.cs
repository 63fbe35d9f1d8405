using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// A window over a snapshot stream, read a chunk at a time so that loading a large snapshot never
/// holds the whole file in memory. Bytes are consumed record by record, and every consumed byte
/// goes into a running Adler-32 until <see cref="StopChecksum"/>.
/// </summary>
public sealed class SnapshotInput(Stream stream, string source, int chunkBytes = 4 << 20)
{
    // A small file gets a buffer its size, not a whole chunk.
    private byte[] _buffer = new byte[stream.CanSeek ? (int)Math.Clamp(stream.Length - stream.Position, Math.Min(4096, chunkBytes), chunkBytes) : chunkBytes];
    private int _start;
    private int _end;
    private bool _endOfStream;
    private bool _checksumming = true;
    private Adler32 _checksum = new();

    /// <summary>Names the snapshot in errors.</summary>
    public string Source { get; } = source;

    /// <summary>Bytes consumed so far: the offset errors report.</summary>
    public long Position { get; private set; }

    public long Checksum => _checksum.Value;

    /// <summary>The bytes available from the current position (at least what the last <see cref="Require"/> asked for).</summary>
    public ReadOnlySpan<byte> Available => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Makes <paramref name="count"/> bytes available, or throws: the snapshot ends too soon.</summary>
    public void Require(int count)
    {
        if (count < 0)
        {
            throw new CorruptStoreException(Source, Position, $"negative length {count}");
        }

        while (_end - _start < count)
        {
            if (_endOfStream)
            {
                throw new CorruptStoreException(Source, Position, $"the snapshot ends {count - (_end - _start)} bytes short of a record");
            }

            Fill(count);
        }
    }

    /// <summary>Decodes a fixed-size field after making it available.</summary>
    public JuteReader Read(int count)
    {
        Require(count);
        return new JuteReader(Available[..count]);
    }

    public void Consume(int count)
    {
        if (_checksumming)
        {
            _checksum.Update(_buffer.AsSpan(_start, count));
        }

        _start += count;
        Position += count;
    }

    public int ReadInt()
    {
        var value = Read(4).ReadInt();
        Consume(4);
        return value;
    }

    public long ReadLong()
    {
        var value = Read(8).ReadLong();
        Consume(8);
        return value;
    }

    /// <summary>The checksum covers everything consumed before this call, not the checksum field and seal after it.</summary>
    public void StopChecksum() => _checksumming = false;

    /// <summary>
    /// Reads more. The buffer grows (doubling) only when it is full and a record needs more, so a
    /// corrupt length cannot make it allocate far beyond what the stream holds: the stream ends first.
    /// </summary>
    private void Fill(int count)
    {
        var available = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, available);
        }

        if (available == _buffer.Length && count > available)
        {
            var larger = new byte[(int)Math.Min(count, Math.Max(_buffer.Length * 2L, 4096))];
            Buffer.BlockCopy(_buffer, 0, larger, 0, available);
            _buffer = larger;
        }

        _start = 0;
        _end = available;
        var read = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _endOfStream = true;
        }

        _end += read;
    }
}
