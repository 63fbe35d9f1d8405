using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Quorum;

/// <summary>The packet types of the quorum port, numbered as Apache ZooKeeper's Leader numbers them.</summary>
public static class PacketType
{
    public const int Request = 1;
    public const int Proposal = 2;
    public const int Ack = 3;
    public const int Commit = 4;
    public const int Ping = 5;
    public const int Revalidate = 6;
    public const int Sync = 7;
    public const int Inform = 8;
    public const int CommitAndActivate = 9;
    public const int NewLeader = 10;
    public const int FollowerInfo = 11;
    public const int UpToDate = 12;
    public const int Diff = 13;
    public const int Trunc = 14;
    public const int Snap = 15;
    public const int ObserverInfo = 16;
    public const int LeaderInfo = 17;
    public const int AckEpoch = 18;
    public const int InformAndActivate = 19;

    public static string Name(int type) => type switch
    {
        Request => "REQUEST",
        Proposal => "PROPOSAL",
        Ack => "ACK",
        Commit => "COMMIT",
        Ping => "PING",
        Revalidate => "REVALIDATE",
        Sync => "SYNC",
        Inform => "INFORM",
        NewLeader => "NEWLEADER",
        FollowerInfo => "FOLLOWERINFO",
        UpToDate => "UPTODATE",
        Diff => "DIFF",
        Trunc => "TRUNC",
        Snap => "SNAP",
        ObserverInfo => "OBSERVERINFO",
        LeaderInfo => "LEADERINFO",
        AckEpoch => "ACKEPOCH",
        _ => $"type {type}",
    };
}

/// <summary>
/// One quorum-port packet, the jute record QuorumPacket: int type, long zxid, buffer data,
/// vector&lt;Id&gt; authinfo. Packets follow each other on the stream with no extra framing.
/// </summary>
public sealed record QuorumPacket(int Type, long Zxid, byte[]? Data = null, IReadOnlyList<Id>? AuthInfo = null)
{
    public void Write(JuteWriter w)
    {
        w.WriteInt(Type);
        w.WriteLong(Zxid);
        w.WriteBuffer(Data);
        if (AuthInfo is null)
        {
            w.WriteInt(-1);
            return;
        }

        w.WriteInt(AuthInfo.Count);
        foreach (var id in AuthInfo)
        {
            w.WriteString(id.Scheme);
            w.WriteString(id.Ident);
        }
    }

    public override string ToString() => $"{PacketType.Name(Type)} 0x{Zxid:x}";
}

/// <summary>Zxids are (epoch &lt;&lt; 32) | counter.</summary>
public static class Zxid
{
    public static long Make(long epoch, long counter) => (epoch << 32) | (counter & 0xffffffffL);

    public static long EpochOf(long zxid) => zxid >> 32;

    public static long CounterOf(long zxid) => zxid & 0xffffffffL;
}
