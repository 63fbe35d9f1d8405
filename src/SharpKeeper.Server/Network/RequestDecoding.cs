using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Network;

/// <summary>A client request frame after the handshake, decoded: its header and the body its type has.</summary>
public readonly record struct DecodedRequest(
    RequestHeader Header, bool IsKnown, PathRequest? Body = null, List<MultiOp>? MultiOps = null,
    SetWatchesRequest? SetWatches = null, AuthPacket? Auth = null, byte[]? SaslToken = null);

/// <summary>
/// Decodes a client's request frame by its type, as Apache's server reads them. A malformed body
/// throws <see cref="JuteException"/> (the connection is closed); a type no client may send comes
/// back as not known (answered Unimplemented, then closed).
/// </summary>
public static class RequestDecoding
{
    public static DecodedRequest Decode(ref JuteReader r)
    {
        var header = RequestHeader.Read(ref r);
        switch (header.Type)
        {
            case OpCode.Ping or OpCode.CloseSession or OpCode.WhoAmI or OpCode.Reconfig:
                // No body needed: reconfig is refused (ReconfigDisabled) as a standalone Apache server refuses it.
                return new DecodedRequest(header, true);
            case OpCode.Multi or OpCode.MultiRead:
                return new DecodedRequest(header, true, MultiOps: RequestCodec.ReadMulti(ref r));
            case OpCode.SetWatches or OpCode.SetWatches2:
                return new DecodedRequest(header, true, SetWatches: SetWatchesRequest.Read(ref r, header.Type == OpCode.SetWatches2));
            case OpCode.Auth:
                return new DecodedRequest(header, true, Auth: AuthPacket.Read(ref r));
            case OpCode.Sasl:
                return new DecodedRequest(header, true, SaslToken: r.ReadBuffer() ?? []);
            case OpCode.DeleteContainer:
                // Only the server itself removes containers.
                return new DecodedRequest(header, false);
            default:
                var body = RequestCodec.ReadPathRequest(header.Type, ref r);
                return new DecodedRequest(header, body is not null, Body: body);
        }
    }
}
