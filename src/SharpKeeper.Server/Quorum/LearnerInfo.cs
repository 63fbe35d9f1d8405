using System.Buffers.Binary;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// FOLLOWERINFO or OBSERVERINFO's body: the learner's server id, protocol version (0x10000 since
/// ZooKeeper 3.4) and, since 3.5, the version of the membership it last activated.
/// </summary>
public readonly record struct LearnerInfo(long Sid, int ProtocolVersion, long? ConfigVersion)
{
    /// <summary>Null when the packet is too short to name a server.</summary>
    public static LearnerInfo? Parse(QuorumPacket packet)
    {
        if (packet.Data is not { Length: >= 8 } data)
        {
            return null;
        }

        var sid = BinaryPrimitives.ReadInt64BigEndian(data);
        var protocol = data.Length >= 12 ? BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8)) : 0;
        long? config = data.Length >= 20 ? BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(12)) : null;
        return new LearnerInfo(sid, protocol, config);
    }

    /// <summary>
    /// As Apache: a learner that activated a later membership than any this server has seen is
    /// ahead of it and is refused (it syncs with a server that knows that membership).
    /// </summary>
    public string? AheadOf(long lastSeenVersion) =>
        ConfigVersion is { } version && version > lastSeenVersion
            ? $"server {Sid} is ahead of this server (it activated membership version 0x{version:x}; the latest seen here is 0x{lastSeenVersion:x})"
            : null;
}
