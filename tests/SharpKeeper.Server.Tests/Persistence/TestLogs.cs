using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Tests.Persistence;

public static class TestLogs
{
    /// <summary>Writes txns through the real log into <paramref name="dataLogDir"/> and waits until they are reported durable.</summary>
    public static void WriteDurably(string dataLogDir, IReadOnlyList<(TxnHeader Header, Txn Txn)> entries, bool forceSync = true)
    {
        using var log = new FileTxnLog(dataLogDir, 64 * 1024, forceSync, NullLogger.Instance);
        using var synced = new ManualResetEventSlim();
        long durable = 0;
        log.Synced += z =>
        {
            durable = z;
            if (z == entries[^1].Header.Zxid)
            {
                synced.Set();
            }
        };
        foreach (var (header, txn) in entries)
        {
            log.Append(header, txn);
        }

        log.Flush();
        Assert.True(synced.Wait(TimeSpan.FromSeconds(10)), $"log never synced (last durable {durable})");
    }
}
