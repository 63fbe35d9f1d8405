using System.Collections.Frozen;

namespace SharpKeeper.Protocol;

/// <summary>The jute record a request's body is after its header, by the operation.</summary>
public enum RequestBody
{
    /// <summary>No body (ping, closeSession, whoAmI).</summary>
    None,

    /// <summary>reconfig's ReconfigRequest.</summary>
    Reconfig,
    Create,
    CreateTtl,
    PathVersion,
    PathWatch,
    PathOnly,
    SetData,
    SetAcl,
    PathInt,
    Multi,
    SetWatches,
    SetWatches2,
    Auth,
    Sasl,

    /// <summary>createSession as a learner forwards it: the session timeout.</summary>
    SessionTimeout,
}

/// <summary>The jute record a reply's body is, by the operation of the request it answers.</summary>
public enum ReplyBody
{
    Empty,
    CreatePath,
    CreateStat,
    Stat,
    GetData,
    Children,
    Children2,
    Acl,
    Path,
    Int,
    StringList,
    WhoAmI,
    Sasl,
    Multi,
}

/// <summary>
/// One ZooKeeper operation: its request and reply records, whether it writes a txn, whether a
/// multi or a multiRead may hold it, whether clients may send it, and the short name cons and
/// stat show as its last operation.
/// </summary>
public sealed record Operation(
    OpCode Code, string ShortName, RequestBody Request, ReplyBody Reply, bool IsWrite,
    bool InMulti = false, bool InMultiRead = false, bool FromClients = true);

/// <summary>
/// The one table of operations that the request codec, the reply codec, the server's decoders
/// (client frames and forwarded requests), its pipeline (what writes) and its monitoring names
/// all read, so that a new opcode is added in one place.
/// </summary>
public static class Operations
{
    public static IReadOnlyList<Operation> All { get; } =
    [
        new(OpCode.Create, "CREA", RequestBody.Create, ReplyBody.CreatePath, IsWrite: true, InMulti: true),
        new(OpCode.Create2, "CREA", RequestBody.Create, ReplyBody.CreateStat, IsWrite: true, InMulti: true),
        new(OpCode.CreateContainer, "CREA", RequestBody.Create, ReplyBody.CreateStat, IsWrite: true, InMulti: true),
        new(OpCode.CreateTtl, "CREA", RequestBody.CreateTtl, ReplyBody.CreateStat, IsWrite: true, InMulti: true),
        new(OpCode.Delete, "DELE", RequestBody.PathVersion, ReplyBody.Empty, IsWrite: true, InMulti: true),

        // Only the server itself removes containers.
        new(OpCode.DeleteContainer, "DELE", RequestBody.PathVersion, ReplyBody.Empty, IsWrite: true, FromClients: false),
        new(OpCode.SetData, "SETD", RequestBody.SetData, ReplyBody.Stat, IsWrite: true, InMulti: true),
        new(OpCode.SetAcl, "SETA", RequestBody.SetAcl, ReplyBody.Stat, IsWrite: true),
        new(OpCode.Check, "CHEC", RequestBody.PathVersion, ReplyBody.Empty, IsWrite: true, InMulti: true),
        new(OpCode.Multi, "MULT", RequestBody.Multi, ReplyBody.Multi, IsWrite: true),
        new(OpCode.Reconfig, "NA", RequestBody.Reconfig, ReplyBody.GetData, IsWrite: true),
        new(OpCode.CreateSession, "SESS", RequestBody.SessionTimeout, ReplyBody.Empty, IsWrite: true, FromClients: false),
        new(OpCode.CloseSession, "CLOS", RequestBody.None, ReplyBody.Empty, IsWrite: true),
        new(OpCode.Exists, "EXIS", RequestBody.PathWatch, ReplyBody.Stat, IsWrite: false),
        new(OpCode.GetData, "GETD", RequestBody.PathWatch, ReplyBody.GetData, IsWrite: false, InMultiRead: true),
        new(OpCode.GetChildren, "GETC", RequestBody.PathWatch, ReplyBody.Children, IsWrite: false, InMultiRead: true),
        new(OpCode.GetChildren2, "GETC", RequestBody.PathWatch, ReplyBody.Children2, IsWrite: false),
        new(OpCode.GetAcl, "GETA", RequestBody.PathOnly, ReplyBody.Acl, IsWrite: false),
        new(OpCode.Sync, "SYNC", RequestBody.PathOnly, ReplyBody.Path, IsWrite: false),
        new(OpCode.GetAllChildrenNumber, "GETACN", RequestBody.PathOnly, ReplyBody.Int, IsWrite: false),
        new(OpCode.GetEphemerals, "GETE", RequestBody.PathOnly, ReplyBody.StringList, IsWrite: false),
        new(OpCode.MultiRead, "MLTR", RequestBody.Multi, ReplyBody.Multi, IsWrite: false),
        new(OpCode.CheckWatches, "CHKW", RequestBody.PathInt, ReplyBody.Empty, IsWrite: false),
        new(OpCode.RemoveWatches, "REMW", RequestBody.PathInt, ReplyBody.Empty, IsWrite: false),
        new(OpCode.AddWatch, "ADDW", RequestBody.PathInt, ReplyBody.Empty, IsWrite: false),
        new(OpCode.SetWatches, "SETW", RequestBody.SetWatches, ReplyBody.Empty, IsWrite: false),
        new(OpCode.SetWatches2, "STW2", RequestBody.SetWatches2, ReplyBody.Empty, IsWrite: false),
        new(OpCode.Ping, "PING", RequestBody.None, ReplyBody.Empty, IsWrite: false),
        new(OpCode.WhoAmI, "HOMI", RequestBody.None, ReplyBody.WhoAmI, IsWrite: false),
        new(OpCode.Auth, "AUTH", RequestBody.Auth, ReplyBody.Empty, IsWrite: false),
        new(OpCode.Sasl, "NA", RequestBody.Sasl, ReplyBody.Sasl, IsWrite: false),
    ];

    private static readonly FrozenDictionary<OpCode, Operation> ByCode = All.ToFrozenDictionary(o => o.Code);

    /// <summary>The operation of an opcode; null for a number no operation has.</summary>
    public static Operation? Find(OpCode code) => ByCode.GetValueOrDefault(code);

    /// <summary>The short name cons and stat show as the last operation ("NA" for none).</summary>
    public static string ShortName(OpCode code) => Find(code)?.ShortName ?? "NA";

    /// <summary>Whether the operation writes a txn (Apache's updatelatency) rather than only reading (readlatency).</summary>
    public static bool IsWrite(OpCode code) => Find(code)?.IsWrite ?? false;
}
