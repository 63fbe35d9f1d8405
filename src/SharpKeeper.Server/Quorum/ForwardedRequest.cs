using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>The body of a REQUEST packet a learner forwards: what the leader prepares on the session's behalf.</summary>
public static class ForwardedRequest
{
    /// <summary>Decodes the request body (after session id, cxid and type); throws <see cref="JuteException"/> when malformed.</summary>
    public static ClientRequest Decode(ReadOnlySpan<byte> body, long sessionId, int cxid, OpCode type, IReadOnlyList<Id>? auth)
    {
        var r = new JuteReader(body);
        var timeout = 0;
        PathRequest? path = null;
        List<MultiOp>? ops = null;
        ReconfigRequest? reconfig = null;
        switch (Operations.Find(type)?.Request)
        {
            case RequestBody.SessionTimeout:
                timeout = r.ReadInt();
                break;
            case RequestBody.None:
                break;
            case RequestBody.Reconfig:
                reconfig = ReconfigRequest.Read(ref r);
                break;
            case RequestBody.Multi:
                ops = RequestCodec.ReadMulti(ref r);
                break;
            default:
                path = RequestCodec.ReadPathRequest(type, ref r) ?? throw new JuteException($"unknown request type {type}");
                break;
        }

        return new ClientRequest
        {
            Connection = null,
            SessionId = sessionId,
            Xid = cxid,
            Type = type,
            Body = path,
            MultiOps = ops,
            Reconfig = reconfig,
            CreateTimeout = timeout,
            ForwardedAuth = auth ?? [],
        };
    }
}
