using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

internal enum RequestKind : byte
{
    /// <summary>A request with a client-assigned xid, answered in order.</summary>
    Normal,

    /// <summary>closeSession: its reply ends the session.</summary>
    Close,

    /// <summary>addAuth (xid -4): answered out of band, in the order auths were sent.</summary>
    Auth,

    /// <summary>setWatches / setWatches2 (xid -8): answered in order like a normal request.</summary>
    SetWatches,

    /// <summary>ping (xid -2): its reply is dropped.</summary>
    Ping,
}

/// <summary>
/// One request from submission to reply. It is its own completion source, so a request costs one object
/// (plus its task) on the client side.
/// </summary>
internal sealed class PendingRequest(RequestKind kind, OpCode op)
    : TaskCompletionSource<ZkResult>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    public RequestKind Kind { get; } = kind;

    public OpCode Op { get; } = op;

    /// <summary>Assigned by the writer loop when the request goes on the wire.</summary>
    public int Xid { get; set; }

    public PathRequest? Body { get; init; }

    public IReadOnlyList<MultiOp>? Ops { get; init; }

    public SetWatchesRequest? SetWatches { get; init; }

    public AuthPacket? Auth { get; init; }

    public ReconfigRequest? Reconfig { get; init; }

    /// <summary>The watch to register when the reply says the server set one.</summary>
    public WatchKind Watch { get; init; }

    public Watcher? Watcher { get; init; }

    /// <summary>The path as the application wrote it (watch tables are keyed by client path).</summary>
    public string? ClientPath { get; init; }

    /// <summary>removeWatches / checkWatches: remove local watches when the reply comes.</summary>
    public bool Deregister { get; init; }

    /// <summary>Raw removeWatches: keep the server's error code, remove locally only on Ok.</summary>
    public bool RawDeregister { get; init; }

    public WatcherType RemoveType { get; init; }

    public bool RemoveLocal { get; init; }

    public CancellationTokenRegistration Registration { get; set; }
}
