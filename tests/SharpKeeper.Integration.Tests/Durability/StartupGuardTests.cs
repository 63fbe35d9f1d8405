using System.Net.Sockets;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Durability;

/// <summary>
/// Apache's start-up and connection guards, which SharpKeeper read but did not apply:
/// datadir.autocreate=false refuses a missing dataDir, snapshot.trust.empty=false refuses txn logs
/// whose snapshots are gone (true starts from the logs alone), and maxCnxns caps connections in all.
/// </summary>
public sealed class StartupGuardTests
{
    [Fact]
    public async Task AMissingDataDirIsRefusedWithoutAutocreate()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => SharpKeeperProcess.StartAsync("datadir.autocreate=false"));
        Assert.Contains("datadir.autocreate", failure.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TxnLogsWithoutTheirSnapshotsAreRefusedUnlessTrusted()
    {
        var directory = Path.Combine(Path.GetTempPath(), "sharpkeeper-it-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await using (var server = await SharpKeeperProcess.StartAsync(directory: directory))
            await using (var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" }))
            {
                await client.CreateAsync("/in-the-log", [1]);
            }

            foreach (var snapshot in Directory.GetFiles(Path.Combine(directory, "data", "version-2"), "snapshot.*"))
            {
                File.Delete(snapshot);
            }

            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => SharpKeeperProcess.StartAsync(directory: directory));
            Assert.Contains("snapshot.trust.empty", failure.Message, StringComparison.Ordinal);

            await using (var trusting = await SharpKeeperProcess.StartAsync("snapshot.trust.empty=true", directory))
            await using (var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{trusting.Port}" }))
            {
                Assert.NotNull(await client.ExistsAsync("/in-the-log"));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task MaxCnxnsRefusesConnectionsPastTheTotal()
    {
        await using var server = await SharpKeeperProcess.StartAsync("maxCnxns=2");
        await using var first = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" });
        await using var second = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" });

        // A third is accepted by the kernel and closed by the server at once.
        using var third = new TcpClient();
        await third.ConnectAsync("127.0.0.1", server.Port);
        var buffer = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await third.GetStream().ReadAsync(buffer, timeout.Token));
        Assert.NotNull(await first.ExistsAsync("/"));
    }
}
