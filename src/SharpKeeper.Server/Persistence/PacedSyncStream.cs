namespace SharpKeeper.Server.Persistence;

/// <summary>
/// Writes a large file to disk a slice at a time: after every <paramref name="sliceBytes"/> it
/// flushes to disk and waits for it. A snapshot written in one go and fsynced at the end puts tens
/// of megabytes in the disk's queue at once, and every log fsync behind it (every acknowledged
/// write) waits for all of it; slices keep that wait to one slice.
/// </summary>
internal sealed class PacedSyncStream(FileStream file, int sliceBytes) : Stream
{
    private long _sinceSync;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => file.Length;

    public override long Position
    {
        get => file.Position;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var part = (int)Math.Min(buffer.Length, sliceBytes - _sinceSync);
            file.Write(buffer[..part]);
            buffer = buffer[part..];
            _sinceSync += part;
            if (_sinceSync >= sliceBytes)
            {
                file.Flush(flushToDisk: true);
                _sinceSync = 0;
            }
        }
    }

    public override void Flush() => file.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
