using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Tests.Core;

namespace SharpKeeper.Server.Tests.Persistence;

/// <summary>
/// A snapshot taken while writes go on, then recovered the way a restart does (snapshot plus the log
/// after its zxid), must give back exactly the tree and sessions the server held.
/// </summary>
public sealed class FuzzySnapshotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-fuzzy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task SnapshotTakenDuringWritesRecoversToTheLiveTree(int seed)
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { SnapshotSliceNodes = 1 });
        var random = new Random(seed);
        var sessions = Enumerable.Range(0, 3).Select(_ => harness.Connect()).ToList();
        var workload = new RandomWrites(harness, random, sessions);
        for (var i = 0; i < 150; i++)
        {
            workload.Step();
        }

        FuzzySnapshot? taken = null;
        harness.Core.SnapshotSerialized += s => taken = s;
        harness.Core.BeginSnapshot();
        var writesDuringSnapshot = 0;
        while (taken is null)
        {
            workload.Step();
            writesDuringSnapshot++;
        }

        for (var i = 0; i < 30; i++)
        {
            workload.Step();
        }

        Assert.True(writesDuringSnapshot > 10, $"{taken.NodesWritten} nodes, only {writesDuringSnapshot} writes overlapped the snapshot");
        Assert.True(taken.Zxid < harness.LastZxid);

        var store = new FileStore(_dir, _dir, NullLogger.Instance);
        Directory.CreateDirectory(store.SnapshotDirectory);
        await SnapshotFile.WriteAsync(Path.Combine(store.SnapshotDirectory, StoreLayout.FileName(StoreLayout.SnapshotPrefix, taken.Zxid)), taken, fsync: false);
        taken.Dispose();
        TestLogs.WriteDurably(_dir, harness.Log.Entries, forceSync: false);

        var recovered = store.Recover();
        Assert.Equal(Dump(harness.Core.Tree), Dump(recovered.Tree));
        Assert.Equal(harness.Core.Tree.NodeCount, recovered.Tree.NodeCount);
        Assert.Equal(harness.LastZxid, recovered.Tree.LastProcessedZxid);
        Assert.Equal(
            harness.Core.SessionTimeouts().OrderBy(kv => kv.Key),
            recovered.Sessions.OrderBy(kv => kv.Key));
    }

    [Fact]
    public async Task ANodeWithAnAclNewerThanTheSnapshotLoadsAndTheReplayGivesItItsAcl()
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { SnapshotSliceNodes = 1 });
        var client = harness.Connect();
        for (var i = 0; i < 10; i++)
        {
            harness.MustCreate(client, $"/n{i}");
        }

        FuzzySnapshot? taken = null;
        harness.Core.SnapshotSerialized += s => taken = s;
        harness.Core.BeginSnapshot();

        // Not written yet, /n9 takes an ACL the tree has never held, and /n0/child is created with it
        // (with a child of its own): the ACL table, written first, cannot name that list.
        var fresh = new List<Acl> { Req.World(Perms.Read | Perms.Write | Perms.Create) };
        Assert.Equal(ErrorCode.Ok, harness.Call(client, OpCode.SetAcl, Req.SetAcl("/n9", fresh)).Err);
        Assert.Equal(ErrorCode.Ok, harness.Create(client, "/n0/child", acl: fresh).Err);
        Assert.Equal(ErrorCode.Ok, harness.Create(client, "/n0/child/grandchild").Err);
        while (taken is null)
        {
            harness.Sync();
        }

        var store = new FileStore(_dir, _dir, NullLogger.Instance);
        Directory.CreateDirectory(store.SnapshotDirectory);
        var path = Path.Combine(store.SnapshotDirectory, StoreLayout.FileName(StoreLayout.SnapshotPrefix, taken.Zxid));
        await SnapshotFile.WriteAsync(path, taken, fsync: false);
        taken.Dispose();

        // The snapshot alone loads: /n9 as it was before (any ACL the table has), /n0/child left out.
        var (alone, _) = SnapshotFile.Read(path);
        Assert.NotNull(alone.GetNode("/n9"));
        Assert.Null(alone.GetNode("/n0/child"));

        // With the log after it, as every restart and sync reads it, the tree is the live one.
        TestLogs.WriteDurably(_dir, harness.Log.Entries, forceSync: false);
        var recovered = store.Recover().Tree;
        Assert.Equal(fresh, recovered.GetNode("/n9")!.Acl);
        Assert.Equal(fresh, recovered.GetNode("/n0/child")!.Acl);
        Assert.NotNull(recovered.GetNode("/n0/child/grandchild"));
        Assert.Equal(Dump(harness.Core.Tree), Dump(recovered));
    }

    [Fact]
    public async Task TheWalkWaitsForTheWriterAndResumesWhenItCatchesUp()
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { SnapshotSliceNodes = 8 });
        var client = harness.Connect();
        var value = new string('v', 60_000);
        for (var i = 0; i < 400; i++)
        {
            harness.MustCreate(client, $"/big{i}", value);
        }

        FuzzySnapshot? taken = null;
        harness.Core.SnapshotSerialized += s => taken = s;
        var snapshot = harness.Core.BeginSnapshot();
        for (var i = 0; i < 200 && taken is null; i++)
        {
            harness.Sync();
        }

        // 24 MB of nodes, and nobody takes the segments: the walk stops at the limit (give or take a slice).
        Assert.Null(taken);
        Assert.True(snapshot.IsBackedUp);
        Assert.InRange(snapshot.Length, (FuzzySnapshot.MaxPendingSegments - 1) << 20, (FuzzySnapshot.MaxPendingSegments + 1) << 20);

        // A writer that takes them lets it go on to the end, and the file holds every node.
        var path = Path.Combine(_dir, "snapshot.paced");
        var writing = SnapshotFile.WriteAsync(path, snapshot, fsync: false);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (taken is null && DateTime.UtcNow < deadline)
        {
            harness.Sync();
            Thread.Yield();
        }

        Assert.NotNull(taken);
        await writing.WaitAsync(TimeSpan.FromSeconds(30));
        snapshot.Dispose();
        var (loaded, _) = SnapshotFile.Read(path);
        Assert.Equal(harness.Core.Tree.NodeCount, loaded.NodeCount);
        Assert.Equal(Encoding.UTF8.GetBytes(value), loaded.GetNode("/big399")!.Data);
    }

    [Fact]
    public async Task AnAbandonedSnapshotLeavesNoFile()
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { SnapshotSliceNodes = 1 });
        var client = harness.Connect();
        for (var i = 0; i < 10; i++)
        {
            harness.MustCreate(client, $"/n{i}");
        }

        var snapshot = harness.Core.BeginSnapshot();
        var path = Path.Combine(_dir, "snapshot.abandoned");
        var writing = SnapshotFile.WriteAsync(path, snapshot, fsync: false);
        harness.Core.AbandonSnapshot();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writing.WaitAsync(TimeSpan.FromSeconds(30)));
        snapshot.Dispose();
        Assert.Empty(Directory.GetFiles(_dir, "snapshot.abandoned*"));
    }

    /// <summary>Every node with its data, Stat and ACL, children in name order.</summary>
    private static string Dump(DataTree tree)
    {
        var text = new StringBuilder();
        Visit("", tree.Root);
        return text.ToString();

        void Visit(string path, DataNode node)
        {
            var acl = string.Join(",", node.Acl.Select(a => $"{a.Id.Scheme}:{a.Id.Ident}:{(int)a.Perms}"));
            text.Append(path).Append(' ').Append(Convert.ToHexString(node.Data ?? [])).Append(' ').Append(node.ToStat()).Append(' ').Append(acl).Append('\n');
            foreach (var name in node.ChildNames.Order(StringComparer.Ordinal))
            {
                Visit(path + "/" + name, node.GetChild(name)!);
            }
        }
    }

    /// <summary>Creates of every kind, deletes, setData, setACL with fresh ACLs, multis and session closes.</summary>
    private sealed class RandomWrites(CoreHarness harness, Random random, List<FakeConnection> sessions)
    {
        private readonly List<string> _paths = [];

        public void Step()
        {
            var client = sessions[random.Next(sessions.Count)];
            switch (random.Next(10))
            {
                case < 4:
                    {
                        var parent = _paths.Count == 0 || random.Next(3) == 0 ? "" : _paths[random.Next(_paths.Count)];
                        var mode = random.Next(6) switch { 0 => CreateMode.Ephemeral, 1 => CreateMode.PersistentSequential, _ => CreateMode.Persistent };
                        var acl = random.Next(4) == 0 ? new List<Acl> { Req.World((Perms)random.Next(1, 32)) } : null;
                        var reply = harness.Create(client, $"{parent}/n{random.Next(40)}", $"d{random.Next(100)}", mode, acl);
                        if (reply.Err == ErrorCode.Ok)
                        {
                            _paths.Add(((CreateResponse)reply.Body!).Path);
                        }

                        break;
                    }

                case < 6 when _paths.Count > 0:
                    harness.Call(client, OpCode.SetData, Req.SetData(Pick(), $"v{random.Next(1000)}"));
                    break;
                case 6 when _paths.Count > 0:
                    harness.Call(client, OpCode.SetAcl, Req.SetAcl(Pick(), [Req.World((Perms)random.Next(1, 32))]));
                    break;
                case 7 when _paths.Count > 0:
                    {
                        var path = Pick();
                        if (harness.Call(client, OpCode.Delete, Req.Delete(path)).Err == ErrorCode.Ok)
                        {
                            _paths.Remove(path);
                        }

                        break;
                    }

                case 8:
                    {
                        var path = $"/m{random.Next(20)}";
                        var reply = harness.Call(client, OpCode.Multi, ops:
                        [
                            new MultiOp(OpCode.Create, Req.Create(path, "m")),
                            new MultiOp(OpCode.SetData, Req.SetData(path, "m2")),
                        ]);
                        if (reply.Err == ErrorCode.Ok)
                        {
                            _paths.Add(path);
                        }

                        break;
                    }

                case 9 when random.Next(8) == 0:
                    {
                        harness.Call(client, OpCode.CloseSession);
                        sessions.Remove(client);
                        sessions.Add(harness.Connect());
                        _paths.RemoveAll(p => harness.Core.Tree.GetNode(p) is null);
                        break;
                    }

                default:
                    harness.Sync();
                    break;
            }

            _paths.RemoveAll(p => harness.Core.Tree.GetNode(p) is null);
        }

        private string Pick() => _paths[random.Next(_paths.Count)];
    }
}
