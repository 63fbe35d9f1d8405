using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// The transaction log on disk, in Apache ZooKeeper's format. Appends are serialized on the
/// caller's (core) thread into a pending buffer; a dedicated thread writes whatever has
/// accumulated and fsyncs once for all of it (group commit), then reports the highest durable
/// zxid. A failed write or fsync stops the log: nothing more is reported durable, so nothing more
/// is acknowledged.
/// </summary>
public sealed class FileTxnLog : ITxnLog
{
    private readonly string _directory;
    private readonly long _preAllocSize;
    private readonly bool _forceSync;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly AutoResetEvent _wake = new(false);
    private readonly JuteWriter _scratch = new(1024);
    private JuteWriter _pending = new(64 * 1024);
    private JuteWriter _writing = new(64 * 1024);
    private readonly List<(long Zxid, int Offset)> _pendingFileStarts = [];
    private readonly List<(long Zxid, int Offset)> _writingFileStarts = [];
    private long _pendingLastZxid = -1;
    private bool _needNewFile = true;
    private FileStream? _file;
    private long _fileSize;
    private volatile bool _stopping;

    public FileTxnLog(string dataLogDir, long preAllocSize, bool forceSync, ILogger logger)
    {
        _directory = Path.Combine(dataLogDir, StoreLayout.VersionDirectory);
        Directory.CreateDirectory(_directory);
        _preAllocSize = preAllocSize;
        _forceSync = forceSync;
        _logger = logger;
        _thread = new Thread(SyncLoop) { IsBackground = true, Name = "txnlog-sync" };
        _thread.Start();
    }

    public event Action<long>? Synced;

    /// <summary>Raised once when the disk fails; the server then stops acknowledging writes.</summary>
    public event Action<Exception>? Failed;

    public long Fsyncs { get; private set; }
    public long LastFsyncMillis { get; private set; }

    /// <summary>Time of each group commit's fsync, in milliseconds (mntr's fsynctime).</summary>
    public MetricSummary FsyncTime { get; } = new("fsynctime");
    public bool HasFailed { get; private set; }

    public void Append(in TxnHeader header, Txn txn, ReadOnlySpan<byte> body = default)
    {
        lock (_gate)
        {
            if (_needNewFile)
            {
                _pendingFileStarts.Add((header.Zxid, _pending.Length));
                _needNewFile = false;
            }

            if (body.IsEmpty)
            {
                TxnLogFormat.WriteRecord(_pending, header, txn, _scratch);
            }
            else
            {
                TxnLogFormat.WriteRecord(_pending, body);
            }
            _pendingLastZxid = header.Zxid;
        }
    }

    /// <summary>The next appended txn starts a new log file (after a snapshot, as ZooKeeper does).</summary>
    public void RollLog()
    {
        lock (_gate)
        {
            _needNewFile = true;
        }
    }

    public void Flush() => _wake.Set();

    private void SyncLoop()
    {
        while (!_stopping)
        {
            _wake.WaitOne();
            long durable;
            lock (_gate)
            {
                if (_pending.Length == 0 || HasFailed)
                {
                    continue;
                }

                (_pending, _writing) = (_writing, _pending);
                _pending.Reset();
                _writingFileStarts.Clear();
                _writingFileStarts.AddRange(_pendingFileStarts);
                _pendingFileStarts.Clear();
                durable = _pendingLastZxid;
            }

            try
            {
                WriteBatch();
                var started = Environment.TickCount64;
                if (_forceSync)
                {
                    FileSync.DataSync(_file!);
                    Fsyncs++;
                    FsyncTime.Record(Environment.TickCount64 - started);
                }
                else
                {
                    _file!.Flush(flushToDisk: false);
                }

                LastFsyncMillis = Environment.TickCount64 - started;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                HasFailed = true;
                _logger.LogCritical(
                    "Cannot write the transaction log in {Directory}: {Message}. No further writes will be acknowledged; fix the disk and restart.",
                    _directory, e.Message);
                Failed?.Invoke(e);
                continue;
            }

            Synced?.Invoke(durable);
        }
    }

    private void WriteBatch()
    {
        var bytes = _writing.WrittenMemory;
        var position = 0;
        foreach (var (zxid, offset) in _writingFileStarts)
        {
            WriteToFile(bytes[position..offset]);
            position = offset;
            StartFile(zxid);
        }

        WriteToFile(bytes[position..]);
    }

    private void StartFile(long zxid)
    {
        if (_file is not null)
        {
            Sync(_file);
            _file.Dispose();
        }

        var path = Path.Combine(_directory, StoreLayout.FileName(StoreLayout.LogPrefix, zxid));
        _logger.LogInformation("Creating new log file: {File}", Path.GetFileName(path));
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
        using var header = new JuteWriter(16);
        TxnLogFormat.WriteFileHeader(header, StoreLayout.LogMagic, 0);
        _file.Write(header.WrittenSpan);
        _fileSize = _file.Position;
    }

    private void WriteToFile(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        var file = _file ?? throw new InvalidOperationException("no log file open");
        var newSize = TxnLogFormat.SizeWithPadding(file.Position + bytes.Length, _fileSize, _preAllocSize);
        if (newSize != _fileSize)
        {
            // Preallocate with zeros so that later fsyncs need not update the file size.
            file.SetLength(newSize);
            _fileSize = newSize;
        }

        file.Write(bytes.Span);
    }

    private void Sync(FileStream file)
    {
        if (_forceSync)
        {
            FileSync.DataSync(file);
        }
        else
        {
            file.Flush(flushToDisk: false);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        _thread.Join(TimeSpan.FromSeconds(10));
        lock (_gate)
        {
            if (_file is not null)
            {
                Sync(_file);
                _file.Dispose();
            }

            _file = null;
        }

        _wake.Dispose();
        _scratch.Dispose();
        _pending.Dispose();
        _writing.Dispose();
    }
}
