using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Processing;

/// <summary>Builds the reply to a write from the result of applying its txn, as ZooKeeper's final processor does.</summary>
public static class WriteResponses
{
    public static (ErrorCode Err, Response? Body) For(OpCode requestType, OpCode txnType, ProcessTxnResult result)
    {
        if (txnType == OpCode.Error)
        {
            return (result.Err, null);
        }

        if (requestType == OpCode.Multi)
        {
            return (ErrorCode.Ok, new MultiResponse(result.Multi?.Select(MultiResultOf).ToList() ?? []));
        }

        if (result.Err != ErrorCode.Ok)
        {
            return (result.Err, null);
        }

        Response? body = requestType switch
        {
            OpCode.Create => new CreateResponse(result.Path!, null),
            OpCode.Create2 or OpCode.CreateTtl or OpCode.CreateContainer => new CreateResponse(result.Path!, result.Stat),
            OpCode.SetData or OpCode.SetAcl or OpCode.Check => new StatResponse(result.Stat ?? default),

            // As Apache: the new membership and the stat of /zookeeper/config.
            OpCode.Reconfig => new GetDataResponse(result.Data, result.Stat ?? default),
            _ => null,
        };
        return (ErrorCode.Ok, body);
    }

    private static MultiResult MultiResultOf(ProcessTxnResult sub) => sub.Type switch
    {
        OpCode.Error => MultiResult.Error(sub.Err),
        OpCode.Create => new MultiResult(OpCode.Create, ErrorCode.Ok, new CreateResponse(sub.Path!, null)),
        OpCode.Create2 or OpCode.CreateTtl or OpCode.CreateContainer =>
            new MultiResult(OpCode.Create2, ErrorCode.Ok, new CreateResponse(sub.Path!, sub.Stat)),
        OpCode.Delete or OpCode.DeleteContainer => new MultiResult(OpCode.Delete, ErrorCode.Ok, EmptyResponse.Instance),
        OpCode.Check => new MultiResult(OpCode.Check, ErrorCode.Ok, EmptyResponse.Instance),
        OpCode.SetData => new MultiResult(OpCode.SetData, ErrorCode.Ok, new StatResponse(sub.Stat ?? default)),
        _ => MultiResult.Error(ErrorCode.RuntimeInconsistency),
    };
}
