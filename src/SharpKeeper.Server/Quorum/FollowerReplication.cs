using System.Buffers.Binary;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// A follower's side of ZAB broadcast, on the core thread: client writes go to the leader as
/// REQUESTs; each proposal logged here is acknowledged (one ACK per zxid, as Apache's leader
/// counts them) once durable, but only after NEWLEADER was acknowledged; PINGs are answered with
/// the sessions active here.
/// </summary>
public sealed class FollowerReplication(ServerCore core, PeerLink leader) : IReplication
{
    private readonly Queue<long> _unacknowledged = new();
    private readonly JuteWriter _scratch = new(1024);
    private long _durable;
    private bool _acksEnabled;

    public bool ForwardsWrites => true;

    public bool ExpiresSessions => false;

    public PeerLink Leader => leader;

    public bool ReplicatesTxns => false;

    public void Proposed(long zxid, byte[] body)
    {
        // A follower prepares nothing itself.
    }

    /// <summary>Records a proposal logged here, to be acknowledged when durable.</summary>
    public void Logged(long zxid) => _unacknowledged.Enqueue(zxid);

    public void LocallyDurable(long zxid)
    {
        _durable = Math.Max(_durable, zxid);
        SendAcks();
    }

    /// <summary>NEWLEADER has been acknowledged: proposal ACKs may flow.</summary>
    public void EnableAcks()
    {
        _acksEnabled = true;
        SendAcks();
    }

    private void SendAcks()
    {
        if (!_acksEnabled)
        {
            return;
        }

        while (_unacknowledged.Count > 0 && _unacknowledged.Peek() <= _durable)
        {
            leader.Send(new QuorumPacket(PacketType.Ack, _unacknowledged.Dequeue()));
        }
    }

    public void Forward(ClientRequest request, long sessionId)
    {
        _scratch.Reset();
        _scratch.WriteLong(sessionId);
        _scratch.WriteInt(request.Xid);
        _scratch.WriteInt((int)request.Type);
        switch (request.Type)
        {
            case OpCode.CreateSession:
                _scratch.WriteInt(request.CreateTimeout);
                break;
            case OpCode.CloseSession:
                break;
            case OpCode.Multi:
                RequestCodec.WriteMulti(_scratch, request.MultiOps ?? []);
                break;
            default:
                RequestCodec.WritePathRequest(_scratch, request.Type, request.Body!);
                break;
        }

        var auth = request.Connection?.AuthInfo ?? [];
        leader.Send(new QuorumPacket(PacketType.Request, -1, _scratch.WrittenSpan.ToArray(), [.. auth]));
    }

    public void Revalidate(long sessionId, int timeout)
    {
        var data = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(data, sessionId);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), timeout);
        leader.Send(new QuorumPacket(PacketType.Revalidate, -1, data));
    }

    /// <summary>Answers the leader's PING with (long session id, int timeout) for each session active here.</summary>
    public void OnPing(QuorumPacket ping)
    {
        var touched = core.TakeTouchedSessions();
        var data = new byte[touched.Count * 12];
        for (var i = 0; i < touched.Count; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(i * 12), touched[i].SessionId);
            BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(i * 12 + 8), touched[i].Timeout);
        }

        leader.Send(new QuorumPacket(PacketType.Ping, ping.Zxid, data, ping.AuthInfo));
    }

    public void OnTick(long now)
    {
    }
}
