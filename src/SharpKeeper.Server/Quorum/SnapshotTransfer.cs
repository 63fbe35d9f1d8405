using System.Runtime.InteropServices;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// The snapshot a leader streams after a SNAP packet: the snapshot body (sessions, ACL table, nodes
/// up to "/") with no header or checksum, then the string "BenWasHere" as a signature.
/// </summary>
public static class SnapshotTransfer
{
    public const string Signature = "BenWasHere";

    /// <summary>Serializes the whole tree now (on the thread that owns it) into the bytes to stream.</summary>
    public static byte[] Serialize(DataTree tree, IReadOnlyDictionary<long, int> sessions)
    {
        using var snapshot = new FuzzySnapshot(tree, sessions);
        snapshot.Step(int.MaxValue);
        using var buffer = new MemoryStream();
        snapshot.WriteBodyTo(buffer);
        using var signature = new JuteWriter(16);
        signature.WriteString(Signature);
        buffer.Write(signature.WrittenSpan);
        return buffer.ToArray();
    }

    /// <summary>Reads a streamed snapshot and its signature, and builds the tree it describes.</summary>
    public static async Task<(DataTree Tree, Dictionary<long, int> Sessions)> ReadAsync(PacketStream stream, string source, CancellationToken cancellationToken)
    {
        // The body has no length prefix: walk its structure, copying it, then decode the copy.
        using var copy = new JuteWriter(1 << 20);
        var sessions = await stream.ReadIntAsync(cancellationToken).ConfigureAwait(false);
        copy.WriteInt(sessions);
        for (var i = 0; i < sessions; i++)
        {
            copy.WriteLong(await stream.ReadLongAsync(cancellationToken).ConfigureAwait(false));
            copy.WriteInt(await stream.ReadIntAsync(cancellationToken).ConfigureAwait(false));
        }

        var aclLists = await stream.ReadIntAsync(cancellationToken).ConfigureAwait(false);
        copy.WriteInt(aclLists);
        for (var i = 0; i < aclLists; i++)
        {
            copy.WriteLong(await stream.ReadLongAsync(cancellationToken).ConfigureAwait(false));
            var acls = await stream.ReadIntAsync(cancellationToken).ConfigureAwait(false);
            copy.WriteInt(acls);
            for (var j = 0; j < acls; j++)
            {
                copy.WriteInt(await stream.ReadIntAsync(cancellationToken).ConfigureAwait(false));
                copy.WriteBuffer(await stream.ReadBufferAsync(cancellationToken).ConfigureAwait(false));
                copy.WriteBuffer(await stream.ReadBufferAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        while (true)
        {
            var path = await stream.ReadStringAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException("null node path in a snapshot transfer");
            copy.WriteString(path);
            if (path == "/")
            {
                break;
            }

            copy.WriteBuffer(await stream.ReadBufferAsync(cancellationToken).ConfigureAwait(false));

            // acl id, czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid
            copy.WriteLong(await stream.ReadLongAsync(cancellationToken).ConfigureAwait(false));
            for (var k = 0; k < 4; k++)
            {
                copy.WriteLong(await stream.ReadLongAsync(cancellationToken).ConfigureAwait(false));
            }

            for (var k = 0; k < 3; k++)
            {
                copy.WriteInt(await stream.ReadIntAsync(cancellationToken).ConfigureAwait(false));
            }

            copy.WriteLong(await stream.ReadLongAsync(cancellationToken).ConfigureAwait(false));
            copy.WriteLong(await stream.ReadLongAsync(cancellationToken).ConfigureAwait(false));
        }

        var signature = await stream.ReadStringAsync(cancellationToken).ConfigureAwait(false);
        if (signature != Signature)
        {
            throw new InvalidDataException($"snapshot transfer from {source} lacks its signature");
        }

        if (!MemoryMarshal.TryGetArray(copy.WrittenMemory, out var written))
        {
            throw new InvalidOperationException("a writer's buffer is an array");
        }

        using var body = new MemoryStream(written.Array!, written.Offset, written.Count, writable: false);
        return SnapshotFile.DecodeBody(new SnapshotInput(body, source));
    }
}
