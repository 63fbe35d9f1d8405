using System.Buffers.Binary;
using System.Text;

namespace SharpKeeper.Server.Quorum.Election;

/// <summary>
/// An election notification as Apache ZooKeeper 3.8 lays it out: int state, long leader, long zxid,
/// long electionEpoch, long peerEpoch, int version (2), int config length, config text. Older
/// layouts of 28 and 40 bytes are still read.
/// </summary>
public sealed record Notification(PeerState State, long Leader, long Zxid, long ElectionEpoch, long PeerEpoch, string Config = "")
{
    public const int CurrentVersion = 2;

    public byte[] Encode()
    {
        var config = Encoding.UTF8.GetBytes(Config);
        var bytes = new byte[44 + config.Length];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, (int)State);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], Leader);
        BinaryPrimitives.WriteInt64BigEndian(span[12..], Zxid);
        BinaryPrimitives.WriteInt64BigEndian(span[20..], ElectionEpoch);
        BinaryPrimitives.WriteInt64BigEndian(span[28..], PeerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(span[36..], CurrentVersion);
        BinaryPrimitives.WriteInt32BigEndian(span[40..], config.Length);
        config.CopyTo(span[44..]);
        return bytes;
    }

    /// <summary>Decodes a notification; null when it is too short, malformed, or of an unknown state.</summary>
    public static Notification? Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 28)
        {
            return null;
        }

        var state = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (state is < 0 or > 3)
        {
            return null;
        }

        var leader = BinaryPrimitives.ReadInt64BigEndian(bytes[4..]);
        var zxid = BinaryPrimitives.ReadInt64BigEndian(bytes[12..]);
        var electionEpoch = BinaryPrimitives.ReadInt64BigEndian(bytes[20..]);

        // The 28-byte layout predates peerEpoch: it is the epoch of the zxid.
        var peerEpoch = bytes.Length >= 36 ? BinaryPrimitives.ReadInt64BigEndian(bytes[28..]) : Quorum.Zxid.EpochOf(zxid);
        var config = "";
        if (bytes.Length > 40)
        {
            if (bytes.Length < 44)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(bytes[40..]);
            if (length < 0 || length > bytes.Length - 44)
            {
                return null;
            }

            config = Encoding.UTF8.GetString(bytes.Slice(44, length));
        }

        return new Notification((PeerState)state, leader, zxid, electionEpoch, peerEpoch, config);
    }

    public Vote ToVote() => new(Leader, Zxid, ElectionEpoch, PeerEpoch, State);
}
