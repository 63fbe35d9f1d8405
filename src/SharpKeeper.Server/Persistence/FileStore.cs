using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// What recovery rebuilt: the tree as of the last durable txn and the sessions alive then; and, when
/// asked for, the last txns replayed (serialized, oldest first), which are every txn after
/// <see cref="HistoryBase"/>: an ensemble member's committed history for syncing learners by DIFF.
/// </summary>
public sealed record RecoveredState(DataTree Tree, Dictionary<long, int> Sessions, long SnapshotZxid, int ReplayedTxns)
{
    public long HistoryBase { get; init; } = Tree.LastProcessedZxid;

    public IReadOnlyList<(long Zxid, byte[] Body)> RecentTxns { get; init; } = [];
}

/// <summary>
/// The dataDir / dataLogDir pair: recovery (newest intact snapshot, then log replay), snapshots
/// and purging, all in Apache ZooKeeper's layout so either server can start on the other's files.
/// </summary>
public sealed class FileStore(string dataDir, string dataLogDir, ILogger logger)
{
    public string SnapshotDirectory { get; } = Path.Combine(dataDir, StoreLayout.VersionDirectory);
    public string LogDirectory { get; } = Path.Combine(dataLogDir, StoreLayout.VersionDirectory);

    /// <param name="recentTxns">How many of the last replayed txns to hand back serialized (commitLogCount; 0 for none).</param>
    public RecoveredState Recover(int recentTxns = 0, bool requireSnapshotWithLogs = false)
    {
        Directory.CreateDirectory(SnapshotDirectory);
        Directory.CreateDirectory(LogDirectory);
        var (tree, sessions, snapshotZxid) = LoadNewestSnapshot();
        var logs = StoreLayout.List(LogDirectory, StoreLayout.LogPrefix);

        // As Apache (snapshot.trust.empty=false): txn logs without any snapshot to start them from
        // mean the snapshots were lost, and replaying the logs alone would serve a partial tree.
        if (requireSnapshotWithLogs && logs.Count > 0 && StoreLayout.List(SnapshotDirectory, StoreLayout.SnapshotPrefix).Count == 0)
        {
            throw new CorruptStoreException(SnapshotDirectory, 0,
                $"no snapshot, but {logs.Count} txn log file(s): the snapshots are missing; restore them, or set snapshot.trust.empty=true to start from the logs alone");
        }

        // Start at the last log file that begins at or before the txn right after the snapshot: earlier
        // ones hold nothing newer (zxids only grow from file to file), so a snapshot taken as a new log
        // began never costs a read of the whole log before it.
        var start = Math.Max(0, logs.FindLastIndex(l => l.Zxid <= snapshotZxid + 1));
        var replayed = 0;
        var recent = new Queue<(TxnHeader Header, Txn Txn)>();
        var historyBase = snapshotZxid;
        for (var i = start; i < logs.Count; i++)
        {
            var (_, path) = logs[i];
            var scan = TxnLogReader.Read(path, (header, txn) =>
            {
                if (header.Zxid <= tree.LastProcessedZxid)
                {
                    return;
                }

                tree.ProcessTxn(header, txn);
                TrackSession(sessions, header, txn);
                replayed++;
                if (recentTxns > 0)
                {
                    recent.Enqueue((header, txn));
                    if (recent.Count > recentTxns)
                    {
                        historyBase = recent.Dequeue().Header.Zxid;
                    }
                }
            }, skipThroughZxid: snapshotZxid);
            if (scan.TornTail)
            {
                if (i != logs.Count - 1)
                {
                    throw new CorruptStoreException(path, scan.ValidLength, "damaged record in a log file that is not the newest");
                }

                logger.LogWarning(
                    "Log {File} ends with a torn record at offset {Offset} (a crash during a write); cutting it off",
                    path, scan.ValidLength);
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                file.SetLength(Math.Max(scan.ValidLength, TxnLogFormat.HeaderSize));
                file.Flush(flushToDisk: true);
            }
        }

        logger.LogInformation(
            "Recovered {Nodes} znodes and {Sessions} sessions: snapshot 0x{Snapshot:x} plus {Replayed} txns, last zxid 0x{Last:x}",
            tree.NodeCount, sessions.Count, snapshotZxid, replayed, tree.LastProcessedZxid);
        return new RecoveredState(tree, sessions, snapshotZxid, replayed)
        {
            HistoryBase = recentTxns > 0 ? historyBase : tree.LastProcessedZxid,
            RecentTxns = Serialize(recent),
        };
    }

    /// <summary>
    /// The txns after <paramref name="afterZxid"/> through <paramref name="throughZxid"/>, read from
    /// the txn log for a learner older than the history in memory (serialized, oldest first), and
    /// whether the log holds the txn <paramref name="afterZxid"/> itself. Null when no log reaches
    /// back to it, or when the txns would take more than <paramref name="byteLimit"/> bytes (a
    /// snapshot is then cheaper).
    /// </summary>
    public List<(long Zxid, byte[] Body)>? ReadTxnsAfter(long afterZxid, long throughZxid, long byteLimit, out bool holdsAfterZxid)
    {
        holdsAfterZxid = false;
        var logs = StoreLayout.List(LogDirectory, StoreLayout.LogPrefix);
        var first = logs.FindLastIndex(l => l.Zxid <= afterZxid);
        if (first < 0)
        {
            return null;
        }

        var found = false;
        var txns = new List<(long Zxid, byte[] Body)>();
        long bytes = 0;
        using var writer = new Protocol.Jute.JuteWriter(256);
        for (var i = first; i < logs.Count && bytes <= byteLimit; i++)
        {
            TxnLogReader.Read(logs[i].Path, (header, txn) =>
            {
                if (header.Zxid == afterZxid)
                {
                    found = true;
                }
                else if (header.Zxid > afterZxid && bytes <= byteLimit)
                {
                    TxnLogFormat.WriteBody(writer, header, txn);
                    txns.Add((header.Zxid, writer.WrittenSpan.ToArray()));
                    bytes += writer.WrittenSpan.Length;
                }
            }, skipThroughZxid: afterZxid - 1, stopAfterZxid: throughZxid);
        }

        holdsAfterZxid = found;
        return bytes <= byteLimit ? txns : null;
    }

    /// <summary>The size of the newest snapshot file, 0 when there is none.</summary>
    public long NewestSnapshotSize()
    {
        var snapshots = StoreLayout.List(SnapshotDirectory, StoreLayout.SnapshotPrefix);
        return snapshots.Count == 0 ? 0 : new FileInfo(snapshots[^1].Path).Length;
    }

    private static List<(long Zxid, byte[] Body)> Serialize(Queue<(TxnHeader Header, Txn Txn)> txns)
    {
        var bodies = new List<(long Zxid, byte[] Body)>(txns.Count);
        using var writer = new Protocol.Jute.JuteWriter(256);
        foreach (var (header, txn) in txns)
        {
            TxnLogFormat.WriteBody(writer, header, txn);
            bodies.Add((header.Zxid, writer.WrittenSpan.ToArray()));
        }

        return bodies;
    }

    private (DataTree Tree, Dictionary<long, int> Sessions, long Zxid) LoadNewestSnapshot()
    {
        var snapshots = StoreLayout.List(SnapshotDirectory, StoreLayout.SnapshotPrefix);
        for (var i = snapshots.Count - 1; i >= 0; i--)
        {
            var (zxid, path) = snapshots[i];
            try
            {
                if (!SnapshotFile.LooksComplete(path))
                {
                    logger.LogWarning("Snapshot {File} is incomplete; trying an older one", path);
                    continue;
                }

                var (tree, sessions) = SnapshotFile.Read(path);
                tree.LastProcessedZxid = zxid;
                logger.LogInformation("Loaded snapshot {File}", path);
                return (tree, sessions, zxid);
            }
            catch (CorruptStoreException e)
            {
                logger.LogWarning("Snapshot {File} is damaged ({Reason}); trying an older one", path, e.Message);
            }
        }

        return (new DataTree(), new Dictionary<long, int>(), 0);
    }

    private static void TrackSession(Dictionary<long, int> sessions, in TxnHeader header, Txn txn)
    {
        switch (header.Type)
        {
            case OpCode.CreateSession when txn is CreateSessionTxn create:
                sessions[header.ClientId] = create.Timeout;
                break;
            case OpCode.CloseSession:
                sessions.Remove(header.ClientId);
                break;
        }
    }

    /// <summary>Writes snapshot.&lt;zxid&gt; of a tree (serialized by the caller's thread into memory first).</summary>
    public string WriteSnapshot(DataTree tree, IReadOnlyDictionary<long, int> sessions, bool fsync)
    {
        var path = Path.Combine(SnapshotDirectory, StoreLayout.FileName(StoreLayout.SnapshotPrefix, tree.LastProcessedZxid));
        SnapshotFile.Write(path, tree, sessions, fsync);
        return path;
    }

    /// <summary>
    /// Cuts this server's history back to <paramref name="zxid"/> (a leader's TRUNC): log records
    /// after it and snapshots taken after it are removed. The caller reloads with <see cref="Recover"/>.
    /// </summary>
    public void TruncateAfter(long zxid)
    {
        foreach (var (start, path) in StoreLayout.List(LogDirectory, StoreLayout.LogPrefix))
        {
            if (start > zxid)
            {
                File.Delete(path);
                logger.LogInformation("Truncation to 0x{Zxid:x} removed log {File}", zxid, path);
                continue;
            }

            var scan = TxnLogReader.Read(path, null, stopAfterZxid: zxid);
            if (scan.LastZxid > zxid || new FileInfo(path).Length > scan.ValidLength)
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                file.SetLength(Math.Max(scan.ValidLength, TxnLogFormat.HeaderSize));
                file.Flush(flushToDisk: true);
            }
        }

        foreach (var (snapshotZxid, path) in StoreLayout.List(SnapshotDirectory, StoreLayout.SnapshotPrefix))
        {
            if (snapshotZxid > zxid)
            {
                File.Delete(path);
                logger.LogInformation("Truncation to 0x{Zxid:x} removed snapshot {File}", zxid, path);
            }
        }
    }

    /// <summary>
    /// Keeps the newest <paramref name="retain"/> snapshots and the log files that can still be
    /// needed with them (every log after the oldest kept snapshot, and the one log that spans it).
    /// Returns the files deleted.
    /// </summary>
    public List<string> Purge(int retain)
    {
        retain = Math.Max(3, retain);
        var deleted = new List<string>();
        var snapshots = StoreLayout.List(SnapshotDirectory, StoreLayout.SnapshotPrefix);
        if (snapshots.Count <= retain)
        {
            return deleted;
        }

        var oldestKept = snapshots[^retain].Zxid;
        foreach (var (_, path) in snapshots.Take(snapshots.Count - retain))
        {
            File.Delete(path);
            deleted.Add(path);
        }

        var logs = StoreLayout.List(LogDirectory, StoreLayout.LogPrefix);
        var spanning = logs.FindLastIndex(l => l.Zxid <= oldestKept);
        for (var i = 0; i < spanning; i++)
        {
            File.Delete(logs[i].Path);
            deleted.Add(logs[i].Path);
        }

        return deleted;
    }
}
