using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Data;

/// <summary>What applying one transaction did: the error (if the txn was an error or failed on replay), the created path and the stat.</summary>
public sealed class ProcessTxnResult
{
    public OpCode Type { get; init; }
    public ErrorCode Err { get; set; }
    public string? Path { get; set; }
    public Stat? Stat { get; set; }

    /// <summary>The data a reconfig set on /zookeeper/config: its reply carries it.</summary>
    public byte[]? Data { get; set; }
    public List<ProcessTxnResult>? Multi { get; set; }
}
