using System.Buffers.Binary;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// The transaction log file format of Apache ZooKeeper 3.8: a 16-byte header (magic "ZKLG",
/// version 2, dbid 0), then records of [long adler32][int length][TxnHeader + txn][byte 'B'],
/// then zeros up to the preallocated size.
/// </summary>
public static class TxnLogFormat
{
    public const int HeaderSize = 16;

    public static void WriteFileHeader(JuteWriter w, int magic, long dbId)
    {
        w.WriteInt(magic);
        w.WriteInt(StoreLayout.FormatVersion);
        w.WriteLong(dbId);
    }

    /// <summary>Appends one complete record (checksum, length, body, end marker) to <paramref name="w"/>.</summary>
    public static void WriteRecord(JuteWriter w, in TxnHeader header, Txn txn, JuteWriter scratch)
    {
        WriteBody(scratch, header, txn);
        WriteRecord(w, scratch.WrittenSpan);
    }

    /// <summary>Appends one complete record around an already serialized body (TxnHeader + txn).</summary>
    public static void WriteRecord(JuteWriter w, ReadOnlySpan<byte> body)
    {
        w.WriteLong(Adler32.Compute(body));
        w.WriteBuffer(body);
        w.WriteRaw([StoreLayout.EndOfRecord]);
    }

    /// <summary>
    /// A record's body: the TxnHeader then the txn, as the log stores it and as a PROPOSAL (or
    /// INFORM) carries it. <paramref name="scratch"/> is reset and holds the result.
    /// </summary>
    public static void WriteBody(JuteWriter scratch, in TxnHeader header, Txn txn)
    {
        scratch.Reset();
        header.Write(scratch);
        TxnCodec.WriteBody(scratch, header.Type, txn);
    }

    /// <summary>Decodes a record body: the header, then the txn (a trailing TxnDigest, if any, is ignored).</summary>
    public static (TxnHeader Header, Txn Txn) DecodeBody(ReadOnlySpan<byte> body)
    {
        var r = new JuteReader(body);
        var header = TxnHeader.Read(ref r);
        return (header, TxnCodec.ReadBody(ref r, header.Type));
    }

    /// <summary>ZooKeeper's preallocation rule: grow by preAllocSize whenever within 4 KB of the current end.</summary>
    public static long SizeWithPadding(long position, long fileSize, long preAllocSize)
    {
        if (preAllocSize > 0 && position + 4096 >= fileSize)
        {
            if (position > fileSize)
            {
                fileSize = position + preAllocSize;
                fileSize -= fileSize % preAllocSize;
            }
            else
            {
                fileSize += preAllocSize;
            }
        }

        return fileSize;
    }
}

/// <summary>What reading one log file found.</summary>
public sealed record TxnLogScan(string Path, long FirstZxid, long LastZxid, int Records, long ValidLength, bool TornTail);

/// <summary>Damage inside a log or snapshot that is not a torn tail: fatal, naming the file and offset.</summary>
public sealed class CorruptStoreException(string path, long offset, string reason)
    : Exception($"{path}: corrupt at offset {offset}: {reason}")
{
    public string FilePath { get; } = path;
    public long Offset { get; } = offset;
}

/// <summary>Reads log files record by record, verifying each checksum.</summary>
public static class TxnLogReader
{
    /// <summary>
    /// Calls <paramref name="onRecord"/> for every intact record in order. A damaged or incomplete
    /// record followed only by zeros is a torn tail (a crash mid-write) and ends the scan; damage
    /// with data after it throws <see cref="CorruptStoreException"/>. Reads only as far as the data
    /// goes, not through the preallocated zeros.
    /// </summary>
    public static TxnLogScan Read(string path, Action<TxnHeader, Txn>? onRecord, long skipThroughZxid = -1, long stopAfterZxid = long.MaxValue)
    {
        using var file = new LogFileWindow(path);
        if (!file.TryLoad(0, TxnLogFormat.HeaderSize) || file.Span(0, TxnLogFormat.HeaderSize).IndexOfAnyExcept((byte)0) < 0)
        {
            // Created but never written: the crash came before the header reached the disk.
            return new TxnLogScan(path, -1, -1, 0, 0, TornTail: file.Length > 0);
        }

        var magic = BinaryPrimitives.ReadInt32BigEndian(file.Span(0, 4));
        var version = BinaryPrimitives.ReadInt32BigEndian(file.Span(4, 4));
        if (magic != StoreLayout.LogMagic || version != StoreLayout.FormatVersion)
        {
            throw new CorruptStoreException(path, 0, $"not a version-2 transaction log (magic 0x{magic:x8}, version {version})");
        }

        long offset = TxnLogFormat.HeaderSize;
        long first = -1, last = -1;
        var records = 0;
        while (true)
        {
            if (!file.TryLoad(offset, 12) || file.Span(offset, 12).IndexOfAnyExcept((byte)0) < 0)
            {
                // End of data: only zeros (preallocation) or a fragment shorter than a record prefix.
                return new TxnLogScan(path, first, last, records, offset, TornTail: file.HasNonZeroFrom(offset));
            }

            var checksum = BinaryPrimitives.ReadInt64BigEndian(file.Span(offset, 8));
            var length = BinaryPrimitives.ReadInt32BigEndian(file.Span(offset + 8, 4));
            var end = offset + 12 + (long)length + 1;
            string? problem = null;
            if (length <= 0 || end > file.Length || !file.TryLoad(offset, (int)(end - offset)))
            {
                problem = $"record length {length} does not fit the file";
            }
            else if (Adler32.Compute(file.Span(offset + 12, length)) != checksum)
            {
                problem = "checksum mismatch";
            }
            else if (file.Span(end - 1, 1)[0] != StoreLayout.EndOfRecord)
            {
                problem = "missing end-of-record marker";
            }

            if (problem is not null)
            {
                var afterRecord = length > 0 && end <= file.Length ? end : offset + 12;
                if (file.HasNonZeroFrom(afterRecord))
                {
                    throw new CorruptStoreException(path, offset, problem + ", and valid-looking data follows");
                }

                return new TxnLogScan(path, first, last, records, offset, TornTail: true);
            }

            TxnHeader header;
            try
            {
                // Records already in the snapshot are checksummed but not decoded: recovery skips them fast.
                var reader = new JuteReader(file.Span(offset + 12, length));
                header = TxnHeader.Read(ref reader);
                if (header.Zxid > stopAfterZxid)
                {
                    // The caller wants the file only up to a zxid: the valid part ends before this record.
                    return new TxnLogScan(path, first, last, records, offset, TornTail: false);
                }

                if (header.Zxid > skipThroughZxid && onRecord is not null)
                {
                    onRecord(header, TxnCodec.ReadBody(ref reader, header.Type));
                }
            }
            catch (JuteException e)
            {
                throw new CorruptStoreException(path, offset, "record checksum is right but it does not decode: " + e.Message);
            }

            if (first < 0)
            {
                first = header.Zxid;
            }

            last = header.Zxid;
            records++;
            offset = end;
        }
    }

    /// <summary>A forward-only window over a file: loads chunks on demand and drops what lies behind.</summary>
    private sealed class LogFileWindow(string path) : IDisposable
    {
        private const int Chunk = 1 << 20;
        private readonly FileStream _stream = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        private byte[] _buffer = new byte[Chunk];
        private long _start;
        private int _count;

        // Asking the file for its length is a system call; recovery asks for every record, so the
        // length is cached and refreshed only when a read would go past it.
        private long _length = -1;

        public long Length => _length < 0 ? _length = _stream.Length : _length;

        /// <summary>Makes [offset, offset + count) available; false when the file is shorter.</summary>
        public bool TryLoad(long offset, int count)
        {
            if (offset + count > Length && offset + count > (_length = _stream.Length))
            {
                return false;
            }

            if (offset >= _start && offset + count <= _start + _count)
            {
                return true;
            }

            var keep = (int)Math.Max(0, _start + _count - offset);
            var needed = Math.Max(count, Chunk);
            var fresh = needed > _buffer.Length ? new byte[needed] : _buffer;
            if (keep > 0)
            {
                Array.Copy(_buffer, (int)(offset - _start), fresh, 0, keep);
            }

            _buffer = fresh;
            _start = offset;
            _count = keep;
            _stream.Position = offset + keep;
            while (_count < count)
            {
                var read = _stream.Read(_buffer, _count, _buffer.Length - _count);
                if (read == 0)
                {
                    return false;
                }

                _count += read;
            }

            return true;
        }

        public ReadOnlySpan<byte> Span(long offset, int count) => _buffer.AsSpan((int)(offset - _start), count);

        public bool HasNonZeroFrom(long offset)
        {
            var buffer = new byte[Chunk];
            var position = Math.Min(offset, Length);
            while (position < Length)
            {
                // Preallocation leaves the file sparse: jump over holes instead of reading their zeros.
                var data = SparseFile.NextData(_stream.SafeFileHandle, position);
                if (data < 0)
                {
                    return false;
                }

                _stream.Position = Math.Max(position, data);
                var read = _stream.Read(buffer, 0, buffer.Length);
                if (read == 0)
                {
                    return false;
                }

                if (buffer.AsSpan(0, read).IndexOfAnyExcept((byte)0) >= 0)
                {
                    return true;
                }

                position = _stream.Position;
            }

            return false;
        }

        public void Dispose() => _stream.Dispose();
    }
}
