using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Network;

/// <summary>A client request frame after the handshake, decoded: its header and the body its type has.</summary>
public readonly record struct DecodedRequest(
    RequestHeader Header, bool IsKnown, PathRequest? Body = null, List<MultiOp>? MultiOps = null,
    SetWatchesRequest? SetWatches = null, AuthPacket? Auth = null, byte[]? SaslToken = null, ReconfigRequest? Reconfig = null);

/// <summary>
/// Decodes a client's request frame by its type, as Apache's server reads them. A malformed body
/// throws <see cref="JuteException"/> (the connection is closed); a type no client may send comes
/// back as not known (answered Unimplemented, then closed).
/// </summary>
public static class RequestDecoding
{
    private static ReconfigRequest? TryReadReconfig(ref JuteReader r)
    {
        try
        {
            return ReconfigRequest.Read(ref r);
        }
        catch (JuteException)
        {
            return null;
        }
    }

    public static DecodedRequest Decode(ref JuteReader r)
    {
        var header = RequestHeader.Read(ref r);
        if (Operations.Find(header.Type) is not { FromClients: true } operation)
        {
            // Unknown, or one only servers send (createSession is a handshake; deleteContainer the server's own).
            return new DecodedRequest(header, false);
        }

        switch (operation.Request)
        {
            case RequestBody.None:
                return new DecodedRequest(header, true);
            case RequestBody.Reconfig:
                // A malformed one is left unread here (null): Apache answers it MarshallingError and
                // keeps the connection.
                return new DecodedRequest(header, true, Reconfig: TryReadReconfig(ref r));
            case RequestBody.Multi:
                return new DecodedRequest(header, true, MultiOps: RequestCodec.ReadMulti(ref r));
            case RequestBody.SetWatches or RequestBody.SetWatches2:
                return new DecodedRequest(header, true, SetWatches: SetWatchesRequest.Read(ref r, operation.Request == RequestBody.SetWatches2));
            case RequestBody.Auth:
                return new DecodedRequest(header, true, Auth: AuthPacket.Read(ref r));
            case RequestBody.Sasl:
                return new DecodedRequest(header, true, SaslToken: r.ReadBuffer() ?? []);
            default:
                var body = RequestCodec.ReadPathRequest(header.Type, ref r);
                return new DecodedRequest(header, body is not null, Body: body);
        }
    }
}
