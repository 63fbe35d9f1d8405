using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Ensemble;

/// <summary>
/// jute.maxbuffer above 1 MB end to end: a 16 MiB value through create, getData and setData, the
/// leader's and followers' logs, a DIFF to a follower that was away, a SNAP to one that was away
/// too long (commitLogCount=1, no catch-up from the log), the snapshot that follower writes, and
/// its restart from that snapshot.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class LargeValueEnsembleTests(ITestOutputHelper output)
{
    private const int Size = 16 * 1024 * 1024;

    private static Task<ZooKeeperClient> ConnectAsync(string connectString) =>
        ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectString = connectString,
            SessionTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxFrameSize = 2 * Size,
        });

    private static byte[] Value(byte seed)
    {
        var value = new byte[Size];
        for (var i = 0; i < value.Length; i++)
        {
            value[i] = (byte)(i * 31 + seed);
        }

        return value;
    }

    public static TheoryData<string> Mixes => ["SSS", "ASA", "SAS"];

    [Theory]
    [MemberData(nameof(Mixes))]
    public async Task ASixteenMebibyteValueTravelsThroughTheLogDiffSnapAndSnapshots(string mix)
    {
        // Apache reads jute.maxbuffer as a system property only (the flag an operator puts in SERVER_JVMFLAGS).
        await using var cluster = EnsembleCluster.Create(
            ReconfigEnsembleTests.KindsOf(mix), "jute.maxbuffer=20000000\ncommitLogCount=1\nsnapshotSizeFactor=-1");
        foreach (var member in cluster.Members)
        {
            member.JvmFlags = ["-Djute.maxbuffer=20000000", "-Dzookeeper.commitLogCount=1", "-Dzookeeper.snapshotSizeFactor=-1"];
        }

        cluster.StartAll();
        try
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
            var followers = cluster.Members.Select(m => m.Id).Where(id => id != leader).ToList();
            var (diffed, snapped) = (followers[0], followers[1]);
            await using var writer = await ConnectAsync(cluster[leader].ConnectString);

            // A follower away for one txn gets it by DIFF.
            await cluster[diffed].KillAsync();
            var first = Value(1);
            await writer.CreateAsync("/big", first, CreateMode.Persistent);
            Assert.Equal(first, (await writer.GetDataAsync("/big")).Data);
            cluster[diffed].Start();
            await using (var onDiffed = await ConnectAsync(cluster[diffed].ConnectString))
            {
                await onDiffed.SyncAsync("/big");
                Assert.Equal(first, (await onDiffed.GetDataAsync("/big")).Data);
            }

            // The leader chooses how to sync; SharpKeeper's choice is the one this test knows.
            var sharpLeads = cluster[leader].Kind == MemberKind.SharpKeeper;
            if (sharpLeads && cluster[diffed].Kind == MemberKind.SharpKeeper)
            {
                Assert.Contains("by DIFF", cluster[diffed].Log, StringComparison.Ordinal);
            }

            // One away for more than commitLogCount txns gets the whole tree by SNAP, and writes it as its snapshot.
            await cluster[snapped].KillAsync();
            var second = Value(2);
            await writer.SetDataAsync("/big", second);
            await writer.CreateAsync("/after", [1], CreateMode.Persistent);
            cluster[snapped].Start();
            await using (var onSnapped = await ConnectAsync(cluster[snapped].ConnectString))
            {
                await onSnapped.SyncAsync("/after");
                Assert.Equal(second, (await onSnapped.GetDataAsync("/big")).Data);
            }

            if (sharpLeads && cluster[snapped].Kind == MemberKind.SharpKeeper)
            {
                Assert.Contains("by SNAP", cluster[snapped].Log, StringComparison.Ordinal);
            }

            // Restarted, it loads that snapshot (and its log) back.
            await cluster[snapped].KillAsync();
            cluster[snapped].Start();
            await using (var restarted = await ConnectAsync(cluster[snapped].ConnectString))
            {
                await restarted.SyncAsync("/after");
                Assert.Equal(second, (await restarted.GetDataAsync("/big")).Data);
            }

            output.WriteLine($"{mix}: server {leader} ({cluster[leader].Kind}) led; {diffed} ({cluster[diffed].Kind}) was away for one txn, {snapped} ({cluster[snapped].Kind}) for two and restarted afterwards");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }
}
