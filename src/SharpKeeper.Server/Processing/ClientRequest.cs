using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Processing;

/// <summary>A decoded client request on its way through the core.</summary>
public sealed class ClientRequest
{
    public required IClientConnection? Connection { get; init; }
    /// <summary>Set by the core from the connection when handled (the handshake may still be in flight at decode time).</summary>
    public long SessionId { get; set; }
    public required int Xid { get; init; }
    public required OpCode Type { get; init; }

    /// <summary>The body for path requests (create, getData, ...).</summary>
    public PathRequest? Body { get; init; }

    /// <summary>multi / multiRead operations.</summary>
    public List<MultiOp>? MultiOps { get; init; }

    public SetWatchesRequest? SetWatches { get; init; }

    public AuthPacket? Auth { get; init; }

    /// <summary>A sasl request's token (GetSASLRequest).</summary>
    public byte[]? SaslToken { get; init; }

    /// <summary>A reconfig request's body; null when it could not be read.</summary>
    public ReconfigRequest? Reconfig { get; init; }

    public long ReceivedMonotonicMillis { get; init; }

    /// <summary>For a createSession a follower forwards: the negotiated timeout.</summary>
    public int CreateTimeout { get; init; }

    /// <summary>For a request a follower forwarded: the ids its session authenticated as there.</summary>
    public IReadOnlyList<Id>? ForwardedAuth { get; init; }

    /// <summary>Set when the request is to be refused with this error in its session's order (EphemeralOnLocalSession).</summary>
    public ErrorCode? Refusal { get; set; }

    public bool IsWrite => Operations.IsWrite(Type);
}
