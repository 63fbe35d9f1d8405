using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Tests.Persistence;

public sealed class PersistenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-persist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string LogDir => Path.Combine(_dir, StoreLayout.VersionDirectory);

    private static readonly List<Acl> Open = [.. Acl.OpenAclUnsafe];

    private static TxnHeader Header(long zxid, OpCode type, long session = 0x55) => new(session, (int)zxid, zxid, 1000 + zxid, type);

    private void WriteLog(params (TxnHeader Header, Txn Txn)[] entries) => TestLogs.WriteDurably(_dir, entries);

    private static (TxnHeader, Txn)[] CreateTxns(int count, long firstZxid = 1) =>
        [.. Enumerable.Range(0, count).Select(i => (Header(firstZxid + i, OpCode.Create), (Txn)new CreateTxn($"/n{i}", [(byte)i], Open, false, i + 1)))];

    [Fact]
    public void LogRoundTripsEveryTxnInZxidOrder()
    {
        var entries = CreateTxns(100);
        WriteLog(entries);
        var file = Assert.Single(StoreLayout.List(LogDir, StoreLayout.LogPrefix));
        Assert.Equal(1, file.Zxid);
        Assert.Equal(64 * 1024, new FileInfo(file.Path).Length);
        var seen = new List<(TxnHeader Header, Txn Txn)>();
        var scan = TxnLogReader.Read(file.Path, (h, t) => seen.Add((h, t)));
        Assert.False(scan.TornTail);
        Assert.Equal(100, scan.Records);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), seen.Select(s => s.Header.Zxid));
        var third = Assert.IsType<CreateTxn>(seen[2].Txn);
        Assert.Equal("/n2", third.Path);
        Assert.Equal([2], third.Data);
        Assert.Equal(3, third.ParentCVersion);
    }

    [Fact]
    public void RecoveryHandsBackTheLastReplayedTxnsForTheCommittedHistory()
    {
        WriteLog(CreateTxns(10));
        var state = new FileStore(_dir, _dir, NullLogger.Instance).Recover(recentTxns: 4);
        Assert.Equal([7L, 8, 9, 10], state.RecentTxns.Select(t => t.Zxid));
        Assert.Equal(6, state.HistoryBase);
        var (header, txn) = TxnLogFormat.DecodeBody(state.RecentTxns[0].Body);
        Assert.Equal(7, header.Zxid);
        Assert.Equal("/n6", Assert.IsType<CreateTxn>(txn).Path);

        var none = new FileStore(_dir, _dir, NullLogger.Instance).Recover();
        Assert.Empty(none.RecentTxns);
        Assert.Equal(10, none.HistoryBase);
    }

    [Fact]
    public void TxnsAfterALearnersLastZxidAreReadFromTheLogWithinALimit()
    {
        WriteLog(CreateTxns(10));
        var store = new FileStore(_dir, _dir, NullLogger.Instance);

        var txns = store.ReadTxnsAfter(3, 8, long.MaxValue, out var holds);
        Assert.True(holds);
        Assert.NotNull(txns);
        Assert.Equal([4L, 5, 6, 7, 8], txns.Select(t => t.Zxid));
        Assert.Equal("/n3", Assert.IsType<CreateTxn>(TxnLogFormat.DecodeBody(txns[0].Body).Txn).Path);

        // A zxid the log does not hold (an epoch start, or a txn it never had) is reported as such.
        Assert.NotNull(store.ReadTxnsAfter(0x1_0000_0000, 0x1_0000_0005, long.MaxValue, out holds));
        Assert.False(holds);

        // Too many bytes: a snapshot is cheaper.
        Assert.Null(store.ReadTxnsAfter(3, 8, txns[0].Body.Length * 2L, out _));

        // No log reaches back to the learner's zxid.
        var later = Directory.CreateTempSubdirectory("sk-persist-").FullName;
        try
        {
            TestLogs.WriteDurably(later, CreateTxns(5, firstZxid: 20));
            Assert.Null(new FileStore(later, later, NullLogger.Instance).ReadTxnsAfter(10, 24, long.MaxValue, out _));
        }
        finally
        {
            Directory.Delete(later, recursive: true);
        }
    }

    [Fact]
    public void TornLastRecordIsCutOffAndEarlierRecordsSurvive()
    {
        WriteLog(CreateTxns(10));
        var path = StoreLayout.List(LogDir, StoreLayout.LogPrefix)[0].Path;
        var full = TxnLogReader.Read(path, null);

        // Zero the last 5 bytes of the last record, as a crash in the middle of its write leaves it.
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = full.ValidLength - 5;
            file.Write(new byte[5]);
        }

        var scan = TxnLogReader.Read(path, null);
        Assert.True(scan.TornTail);
        Assert.Equal(9, scan.Records);

        var state = new FileStore(_dir, _dir, NullLogger.Instance).Recover();
        Assert.Equal(9, state.Tree.LastProcessedZxid);
        Assert.NotNull(state.Tree.GetNode("/n8"));
        Assert.Null(state.Tree.GetNode("/n9"));
        Assert.False(TxnLogReader.Read(path, null).TornTail);
    }

    [Fact]
    public void NonZeroByteFarIntoTheSparsePreallocatedTailMarksTheTailTorn()
    {
        WriteLog(CreateTxns(10));
        var path = StoreLayout.List(LogDir, StoreLayout.LogPrefix)[0].Path;

        // Holes first, then one stray byte 40 MB in: the hole-skipping scan must still find it.
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(64L << 20);
            file.Position = 40L << 20;
            file.WriteByte(7);
        }

        var scan = TxnLogReader.Read(path, null);
        Assert.Equal(10, scan.Records);
        Assert.True(scan.TornTail);

        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = 40L << 20;
            file.WriteByte(0);
        }

        Assert.False(TxnLogReader.Read(path, null).TornTail);
    }

    [Fact]
    public void SnapshotOfADeepWideUnicodeTreeLoadsEveryNodeUnderItsParent()
    {
        var tree = new DataTree();
        long zxid = 0;
        var paths = new List<string>();
        void Create(string path, bool ephemeral = false)
        {
            zxid++;
            tree.ProcessTxn(Header(zxid, OpCode.Create), new CreateTxn(path, [(byte)zxid], Open, ephemeral, 1));
            paths.Add(path);
        }

        for (var p = 0; p < 20; p++)
        {
            Create($"/p{p}");
            for (var c = 0; c < 5; c++)
            {
                Create($"/p{p}/ç{c}");
            }
        }

        var deep = "";
        for (var depth = 0; depth < 30; depth++)
        {
            deep += $"/d{depth}é";
            Create(deep);
            Create(deep + "/leaf", ephemeral: depth % 7 == 0);
        }

        var path = Path.Combine(_dir, "snapshot.deep");
        SnapshotFile.Write(path, tree, new Dictionary<long, int> { [0x55] = 30000 }, fsync: false);
        var (loaded, _) = SnapshotFile.Read(path);
        Assert.Equal(tree.NodeCount, loaded.NodeCount);
        Assert.Equal(tree.ApproximateDataSize, loaded.ApproximateDataSize);
        foreach (var node in paths)
        {
            Assert.Equal(tree.GetNode(node)!.ToStat(), loaded.GetNode(node)!.ToStat());
            Assert.Equal(tree.GetNode(node)!.Data, loaded.GetNode(node)!.Data);
        }

        Assert.Equal(tree.EphemeralsOf(0x55).Order(StringComparer.Ordinal), loaded.EphemeralsOf(0x55).Order(StringComparer.Ordinal));
        Assert.Equal(5, loaded.EphemeralsOf(0x55).Count);
    }

    [Fact]
    public void SnapshotSpanningManySegmentsWithAHugeNodeRoundTrips()
    {
        // About 4 MB of nodes, and one node larger than a whole 1 MB segment.
        var tree = new DataTree();
        long zxid = 0;
        for (var i = 0; i < 4000; i++)
        {
            zxid++;
            tree.ProcessTxn(Header(zxid, OpCode.Create), new CreateTxn($"/n{i:D5}", Enumerable.Repeat((byte)(i % 251), 1000).ToArray(), Open, false, (int)zxid));
            if (i == 1500)
            {
                zxid++;
                tree.ProcessTxn(Header(zxid, OpCode.Create), new CreateTxn("/huge", new byte[3 << 20], Open, false, (int)zxid));
            }
        }

        // Synced as written, in 1 MB slices: writes cross slice boundaries mid-record.
        var path = Path.Combine(_dir, "snapshot.segments");
        SnapshotFile.Write(path, tree, new Dictionary<long, int>(), fsync: true);
        Assert.True(new FileInfo(path).Length > 7_000_000);
        var (loaded, _) = SnapshotFile.Read(path);
        Assert.Equal(tree.NodeCount, loaded.NodeCount);
        Assert.Equal(3 << 20, loaded.GetNode("/huge")!.Data!.Length);
        for (var i = 0; i < 4000; i += 97)
        {
            Assert.Equal(tree.GetNode($"/n{i:D5}")!.Data, loaded.GetNode($"/n{i:D5}")!.Data);
            Assert.Equal(tree.GetNode($"/n{i:D5}")!.ToStat(), loaded.GetNode($"/n{i:D5}")!.ToStat());
        }
    }

    [Fact]
    public void SnapshotBodyEndingRightAfterItsTerminatorDecodes()
    {
        // A SNAP transfer carries the body alone: nothing follows the "/" terminator.
        var tree = new DataTree();
        tree.ProcessTxn(Header(1, OpCode.Create), new CreateTxn("/a", [1], Open, false, 1));
        using var snapshot = new FuzzySnapshot(tree, new Dictionary<long, int> { [7] = 5000 });
        snapshot.Step(int.MaxValue);
        using var body = new MemoryStream();
        snapshot.WriteBodyTo(body);
        body.Position = 0;
        var (loaded, sessions) = SnapshotFile.DecodeBody(new SnapshotInput(body, "transfer"));
        Assert.Equal([1], loaded.GetNode("/a")!.Data);
        Assert.Equal(5000, sessions[7]);
        Assert.Equal(body.Length, body.Position);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void TruncatedSnapshotIsReportedAsCorruptWithItsPath(double keep)
    {
        var tree = new DataTree();
        for (var i = 1; i <= 3000; i++)
        {
            tree.ProcessTxn(Header(i, OpCode.Create), new CreateTxn($"/n{i}", new byte[2000], Open, false, i));
        }

        var path = Path.Combine(_dir, "snapshot.cut");
        SnapshotFile.Write(path, tree, new Dictionary<long, int>(), fsync: false);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength((long)(file.Length * keep));
        }

        var e = Assert.Throws<CorruptStoreException>(() => SnapshotFile.Read(path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void DamageBeforeTheTailIsFatalAndNamesFileAndOffset()
    {
        WriteLog(CreateTxns(10));
        var path = StoreLayout.List(LogDir, StoreLayout.LogPrefix)[0].Path;
        long secondRecord = 0;
        var index = 0;
        var offsets = new List<long>();
        var bytes = File.ReadAllBytes(path);
        for (long offset = TxnLogFormat.HeaderSize; index < 3; index++)
        {
            offsets.Add(offset);
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan((int)offset + 8));
            offset += 12 + length + 1;
        }

        secondRecord = offsets[1];
        bytes[secondRecord + 20] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<CorruptStoreException>(() => new FileStore(_dir, _dir, NullLogger.Instance).Recover());
        Assert.Equal(path, e.FilePath);
        Assert.Equal(secondRecord, e.Offset);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void SnapshotRoundTripsNodesStatsAclsAndSessions()
    {
        var tree = new DataTree();
        var digest = new List<Acl> { new(Perms.Read | Perms.Write, new Id("digest", "bob:abc=")) };
        tree.ProcessTxn(Header(1, OpCode.Create), new CreateTxn("/a", [1, 2, 3], Open, false, 1));
        tree.ProcessTxn(Header(2, OpCode.Create), new CreateTxn("/a/eph", null, digest, true, 1));
        tree.ProcessTxn(Header(3, OpCode.CreateContainer), new CreateTxn("/c", [], Open, false, 2));
        tree.ProcessTxn(Header(4, OpCode.CreateTtl), new CreateTxn("/t", [], Open, false, 3, Ttl: 5000));
        tree.ProcessTxn(Header(5, OpCode.SetData), new SetDataTxn("/a", [9], 1));
        tree.ProcessTxn(Header(6, OpCode.Delete), new DeleteTxn("/c"));
        var path = Path.Combine(_dir, "snapshot.6");
        SnapshotFile.Write(path, tree, new Dictionary<long, int> { [0x55] = 30000 }, fsync: true);
        Assert.True(SnapshotFile.LooksComplete(path));

        var (loaded, sessions) = SnapshotFile.Read(path);
        Assert.Equal(30000, sessions[0x55]);
        Assert.Equal(tree.NodeCount, loaded.NodeCount);
        foreach (var node in new[] { "/", "/a", "/a/eph", "/t", "/zookeeper", "/zookeeper/config" })
        {
            Assert.Equal(tree.GetNode(node)!.ToStat(), loaded.GetNode(node)!.ToStat());
            Assert.Equal(tree.GetNode(node)!.Acl, loaded.GetNode(node)!.Acl);
        }

        Assert.Equal([9], loaded.GetNode("/a")!.Data);
        Assert.Null(loaded.GetNode("/c"));
        Assert.Equal(["/a/eph"], loaded.EphemeralsOf(0x55));
        Assert.Equal(["/t"], loaded.Ttls);
    }

    [Fact]
    public void DamagedNewestSnapshotFallsBackToAnOlderOne()
    {
        var store = new FileStore(_dir, _dir, NullLogger.Instance);
        Directory.CreateDirectory(store.SnapshotDirectory);
        var tree = new DataTree();
        tree.ProcessTxn(Header(1, OpCode.Create), new CreateTxn("/old", null, Open, false, 1));
        store.WriteSnapshot(tree, new Dictionary<long, int>(), fsync: false);
        tree.ProcessTxn(Header(2, OpCode.Create), new CreateTxn("/new", null, Open, false, 2));
        var newest = store.WriteSnapshot(tree, new Dictionary<long, int>(), fsync: false);
        var bytes = File.ReadAllBytes(newest);
        bytes[40] ^= 0x5A;
        File.WriteAllBytes(newest, bytes);

        var state = store.Recover();
        Assert.Equal(1, state.SnapshotZxid);
        Assert.NotNull(state.Tree.GetNode("/old"));
        Assert.Null(state.Tree.GetNode("/new"));
    }

    [Fact]
    public void RecoveryReplaysLogsAfterTheSnapshotAndTracksSessions()
    {
        var store = new FileStore(_dir, _dir, NullLogger.Instance);
        Directory.CreateDirectory(store.SnapshotDirectory);
        var tree = new DataTree();
        tree.ProcessTxn(Header(1, OpCode.Create), new CreateTxn("/base", null, Open, false, 1));
        store.WriteSnapshot(tree, new Dictionary<long, int>(), fsync: false);
        WriteLog(
            (Header(1, OpCode.Create), new CreateTxn("/base", null, Open, false, 1)),
            (Header(2, OpCode.CreateSession, 0x77), new CreateSessionTxn(12000)),
            (Header(3, OpCode.Create, 0x77), new CreateTxn("/base/e", null, Open, true, 1)),
            (Header(4, OpCode.CreateSession, 0x78), new CreateSessionTxn(8000)),
            (Header(5, OpCode.CloseSession, 0x78), new CloseSessionTxn([])),
            (Header(6, OpCode.Error), new ErrorTxn(ErrorCode.NodeExists)));

        var state = store.Recover();
        Assert.Equal(6, state.Tree.LastProcessedZxid);
        Assert.Equal(0x77, state.Tree.GetNode("/base/e")!.EphemeralOwner);
        Assert.Equal(new Dictionary<long, int> { [0x77] = 12000 }, state.Sessions);
        Assert.Equal(5, state.ReplayedTxns);
    }

    [Fact]
    public void ALogThatEndsWhereTheSnapshotBeginsIsNotRead()
    {
        // The snapshot at zxid 10 was taken as a new log began at 11: log.1 holds nothing newer, so
        // recovery must not read it (damage in it would otherwise stop the start-up, and reading a
        // large one costs the restart its time).
        var first = CreateTxns(10);
        WriteLog(first);
        var store = new FileStore(_dir, _dir, NullLogger.Instance);
        Directory.CreateDirectory(store.SnapshotDirectory);
        var tree = new DataTree();
        foreach (var (header, txn) in first)
        {
            tree.ProcessTxn(header, txn);
        }

        store.WriteSnapshot(tree, new Dictionary<long, int>(), fsync: false);
        WriteLog([.. Enumerable.Range(0, 3).Select(i => (Header(11 + i, OpCode.Create), (Txn)new CreateTxn($"/later{i}", null, Open, false, i + 1)))]);
        var logs = StoreLayout.List(LogDir, StoreLayout.LogPrefix);
        Assert.Equal([1L, 11L], logs.Select(l => l.Zxid));
        var bytes = File.ReadAllBytes(logs[0].Path);
        bytes[TxnLogFormat.HeaderSize + 20] ^= 0xFF;
        File.WriteAllBytes(logs[0].Path, bytes);

        var state = store.Recover();
        Assert.Equal(13, state.Tree.LastProcessedZxid);
        Assert.Equal(3, state.ReplayedTxns);
        Assert.NotNull(state.Tree.GetNode("/n9"));
        Assert.NotNull(state.Tree.GetNode("/later2"));
    }

    [Fact]
    public void PurgeKeepsTheNewestSnapshotsAndTheLogsTheyNeed()
    {
        var store = new FileStore(_dir, _dir, NullLogger.Instance);
        Directory.CreateDirectory(store.SnapshotDirectory);
        foreach (var zxid in new long[] { 0x10, 0x20, 0x30, 0x40, 0x50 })
        {
            File.WriteAllText(Path.Combine(store.SnapshotDirectory, StoreLayout.FileName("snapshot", zxid)), "x");
            File.WriteAllText(Path.Combine(store.LogDirectory, StoreLayout.FileName("log", zxid - 8)), "x");
        }

        var deleted = store.Purge(3).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["log.18", "log.8", "snapshot.10", "snapshot.20"], deleted);
        Assert.Equal(["log.28", "log.38", "log.48"], StoreLayout.List(store.LogDirectory, "log").Select(l => Path.GetFileName(l.Path)));
    }

    [Fact]
    public void Adler32MatchesTheKnownVector() => Assert.Equal(0x11E60398L, Adler32.Compute("Wikipedia"u8));
}
