using System.Buffers.Binary;
using System.Text;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// Snapshots in Apache ZooKeeper 3.8's format: header (magic "ZKSN", version 2, dbid -1), the
/// sessions (id, timeout), the ACL cache (id -> ACL list), every node depth-first as (path, data,
/// acl id, StatPersisted) from the root "" to a "/" terminator, then the Adler-32 of all of it and
/// a "/" seal.
/// </summary>
public static class SnapshotFile
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>The ACL id ZooKeeper reserves for world:anyone with all permissions.</summary>
    internal const long OpenAclId = -1;

    /// <summary>Serializes the whole tree at once (the caller owns it and nothing changes meanwhile) and writes it.</summary>
    public static void Write(string path, DataTree tree, IReadOnlyDictionary<long, int> sessions, bool fsync)
    {
        using var snapshot = new FuzzySnapshot(tree, sessions);
        snapshot.Step(int.MaxValue);
        Write(path, snapshot, fsync);
    }

    /// <summary>Writes under a temporary name and renames, so a crash never leaves a half snapshot under the real name.</summary>
    public static void Write(string path, FuzzySnapshot snapshot, bool fsync)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            snapshot.WriteTo(file);
            file.Flush(flushToDisk: fsync);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Whether a file ends with the "/" seal (a cheap check that the snapshot was completed).</summary>
    public static bool LooksComplete(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length < 10 + TxnLogFormat.HeaderSize)
        {
            return false;
        }

        Span<byte> tail = stackalloc byte[5];
        file.Seek(-5, SeekOrigin.End);
        file.ReadExactly(tail);
        return BinaryPrimitives.ReadInt32BigEndian(tail) == 1 && tail[4] == (byte)'/';
    }

    /// <summary>Loads a snapshot into a fresh tree; throws <see cref="CorruptStoreException"/> when it is damaged.</summary>
    public static (DataTree Tree, Dictionary<long, int> Sessions) Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            return Decode(bytes, path);
        }
        catch (JuteException e)
        {
            throw new CorruptStoreException(path, -1, "snapshot does not decode: " + e.Message);
        }
    }

    private static (DataTree Tree, Dictionary<long, int> Sessions) Decode(byte[] bytes, string path)
    {
        var r = new JuteReader(bytes);
        var magic = r.ReadInt();
        var version = r.ReadInt();
        r.ReadLong();
        if (magic != StoreLayout.SnapshotMagic || version != StoreLayout.FormatVersion)
        {
            throw new CorruptStoreException(path, 0, $"not a version-2 snapshot (magic 0x{magic:x8}, version {version})");
        }

        var (tree, sessions) = DecodeBody(ref r, path);
        var checksumEnd = r.Position;
        var expected = r.ReadLong();
        if (r.ReadRequiredString() != "/")
        {
            throw new CorruptStoreException(path, r.Position, "missing seal");
        }

        var actual = Adler32.Compute(bytes.AsSpan(0, checksumEnd));
        if (actual != expected)
        {
            throw new CorruptStoreException(path, checksumEnd, "checksum mismatch");
        }

        return (tree, sessions);
    }

    /// <summary>
    /// Decodes the part of a snapshot that a SNAP transfer also carries: the sessions, the ACL table
    /// and the nodes up to the "/" terminator. <paramref name="source"/> names the origin in errors.
    /// </summary>
    public static (DataTree Tree, Dictionary<long, int> Sessions) DecodeBody(ref JuteReader r, string source)
    {
        var path = source;
        var sessions = new Dictionary<long, int>();
        for (var count = r.ReadInt(); count > 0; count--)
        {
            sessions[r.ReadLong()] = r.ReadInt();
        }

        var acls = new Dictionary<long, IReadOnlyList<Acl>> { [OpenAclId] = Acl.OpenAclUnsafe };
        for (var count = r.ReadInt(); count > 0; count--)
        {
            var id = r.ReadLong();
            acls[id] = Acl.ReadList(ref r) ?? [];
        }

        var tree = new DataTree();

        // Intern each ACL list once here, so loading a node is a dictionary lookup, not a list comparison.
        foreach (var id in acls.Keys.ToList())
        {
            acls[id] = tree.Acls.Intern(acls[id]);
        }

        // Nodes come parent first, and siblings mostly one after another: the last parent is kept
        // (as its path's bytes) so most nodes find theirs without a lookup, and the full path is
        // never made a string unless the node is ephemeral.
        var parentPath = new byte[256];
        var parentPathLength = -1;
        DataNode? parent = null;
        while (true)
        {
            var pathBytes = r.ReadBufferSpan(out _);
            if (pathBytes.Length == 1 && pathBytes[0] == (byte)'/')
            {
                break;
            }

            var data = r.ReadBuffer();
            var aclId = r.ReadLong();
            if (!acls.TryGetValue(aclId, out var acl))
            {
                throw new CorruptStoreException(path, r.Position, $"node {Text(pathBytes)} refers to unknown ACL id {aclId}");
            }

            var node = new DataNode(data, acl)
            {
                Czxid = r.ReadLong(),
                Mzxid = r.ReadLong(),
                Ctime = r.ReadLong(),
                Mtime = r.ReadLong(),
                Version = r.ReadInt(),
                Cversion = r.ReadInt(),
                Aversion = r.ReadInt(),
                EphemeralOwner = r.ReadLong(),
                Pzxid = r.ReadLong(),
            };
            if (pathBytes.Length == 0)
            {
                tree.LoadRoot(node);
                continue;
            }

            var slash = pathBytes.LastIndexOf((byte)'/');
            var parentBytes = slash < 0 ? pathBytes : pathBytes[..slash];
            if (parent is null || !parentBytes.SequenceEqual(parentPath.AsSpan(0, parentPathLength)))
            {
                parent = slash < 0 ? null : slash == 0 ? tree.Root : tree.GetNode(Text(parentBytes));
                if (parent is null)
                {
                    throw new CorruptStoreException(path, r.Position, $"node {Text(pathBytes)} has no parent in the snapshot");
                }

                if (parentBytes.Length > parentPath.Length)
                {
                    parentPath = new byte[parentBytes.Length * 2];
                }

                parentBytes.CopyTo(parentPath);
                parentPathLength = parentBytes.Length;
            }

            var indexedPath = node.EphemeralOwner != 0 ? Text(pathBytes) : null;
            tree.LoadNode(parent, Text(pathBytes[(slash + 1)..]), StrictUtf8.GetCharCount(pathBytes), node, indexedPath, aclInterned: true);
        }

        return (tree, sessions);
    }

    private static string Text(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw new JuteException("a path is not valid UTF-8");
        }
    }
}
