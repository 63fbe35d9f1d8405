using SharpKeeper.Protocol;

namespace SharpKeeper.Server.Processing;

/// <summary>The short operation names ZooKeeper shows as lastOp in cons.</summary>
public static class OperationNames
{
    public static string Of(OpCode type) => type switch
    {
        OpCode.Ping => "PING",
        OpCode.CreateSession => "SESS",
        OpCode.Multi => "MULT",
        OpCode.MultiRead => "MLTR",
        OpCode.Create or OpCode.Create2 or OpCode.CreateTtl or OpCode.CreateContainer => "CREA",
        OpCode.Delete or OpCode.DeleteContainer => "DELE",
        OpCode.SetData => "SETD",
        OpCode.SetAcl => "SETA",
        OpCode.CloseSession => "CLOS",
        OpCode.Sync => "SYNC",
        OpCode.Check => "CHEC",
        OpCode.Exists => "EXIS",
        OpCode.GetData => "GETD",
        OpCode.SetWatches => "SETW",
        OpCode.SetWatches2 => "STW2",
        OpCode.AddWatch => "ADDW",
        OpCode.GetAcl => "GETA",
        OpCode.GetChildren or OpCode.GetChildren2 => "GETC",
        OpCode.GetAllChildrenNumber => "GETACN",
        OpCode.CheckWatches => "CHKW",
        OpCode.RemoveWatches => "REMW",
        OpCode.WhoAmI => "HOMI",
        OpCode.GetEphemerals => "GETE",
        OpCode.Auth => "AUTH",
        _ => "NA",
    };

    /// <summary>Whether the operation writes a txn (Apache's updatelatency) rather than only reading (readlatency).</summary>
    public static bool IsUpdate(OpCode type) => type is OpCode.Create or OpCode.Create2 or OpCode.CreateTtl or OpCode.CreateContainer
        or OpCode.Delete or OpCode.DeleteContainer or OpCode.SetData or OpCode.SetAcl or OpCode.Multi or OpCode.Check
        or OpCode.Reconfig or OpCode.CreateSession or OpCode.CloseSession;
}
