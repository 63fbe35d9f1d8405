using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// The durable transaction log as the core uses it: appends are buffered; <see cref="Flush"/> asks
/// for a group commit, after which <see cref="Synced"/> reports the highest zxid now on disk (from
/// any thread). Nothing is acknowledged to a client before its zxid is reported.
/// </summary>
public interface ITxnLog : IDisposable
{
    event Action<long>? Synced;

    /// <summary>
    /// Appends a txn. <paramref name="body"/>, when not empty, is its record body already serialized
    /// (a proposal's bytes), so the log need not serialize it again.
    /// </summary>
    void Append(in TxnHeader header, Txn txn, ReadOnlySpan<byte> body = default);

    void Flush();
}

/// <summary>A log that keeps nothing: every flush is immediately "durable". For tests and ephemeral servers.</summary>
public sealed class InMemoryTxnLog : ITxnLog
{
    private long _lastAppended;

    public event Action<long>? Synced;

    public List<(TxnHeader Header, Txn Txn)> Entries { get; } = [];

    public bool KeepEntries { get; init; }

    public void Append(in TxnHeader header, Txn txn, ReadOnlySpan<byte> body = default)
    {
        _lastAppended = header.Zxid;
        if (KeepEntries)
        {
            Entries.Add((header, txn));
        }
    }

    public void Flush() => Synced?.Invoke(_lastAppended);

    public void Dispose()
    {
    }
}
