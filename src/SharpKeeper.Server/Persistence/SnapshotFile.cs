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

    /// <summary>
    /// Serializes the whole tree now (the caller owns it and nothing changes meanwhile), writing each
    /// segment as it fills, under a temporary name that is renamed once complete, so a crash never
    /// leaves a half snapshot under the real name.
    /// </summary>
    public static void Write(string path, DataTree tree, IReadOnlyDictionary<long, int> sessions, bool fsync)
    {
        using var snapshot = new FuzzySnapshot(tree, sessions);
        var temporary = path + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                // Synced in 1 MB slices, so the log's fsyncs never queue behind the whole snapshot.
                var output = fsync ? new PacedSyncStream(file, 1 << 20) : (Stream)file;
                var checksum = WriteHeader(output);
                bool complete;
                do
                {
                    complete = snapshot.Step(4096);
                    while (snapshot.TryTakeSegment(out var segment))
                    {
                        using (segment)
                        {
                            checksum.Update(segment.WrittenSpan);
                            output.Write(segment.WrittenSpan);
                        }
                    }
                }
                while (!complete);

                WriteSeal(output, checksum);
                file.Flush(flushToDisk: fsync);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Writes a snapshot as another thread walks it, each segment as soon as it is serialized, and
    /// completes once the walk has ended and all is on disk. If the walk is abandoned, or the file
    /// cannot be written, the partial file is deleted and the error thrown once the walk has ended
    /// (segments keep being taken meanwhile, so the walk never waits for a writer that gave up).
    /// </summary>
    public static async Task WriteAsync(string path, FuzzySnapshot snapshot, bool fsync)
    {
        var temporary = path + ".tmp";
        Exception? failure = null;
        FileStream? file = null;
        Stream? output = null;
        var checksum = new Adler32();
        try
        {
            file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            output = fsync ? new PacedSyncStream(file, 1 << 20) : file;
            checksum = WriteHeader(output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failure = e;
        }

        try
        {
            while (await snapshot.WaitToReadAsync().ConfigureAwait(false))
            {
                while (snapshot.TryTakeSegment(out var segment))
                {
                    using (segment)
                    {
                        if (failure is null)
                        {
                            try
                            {
                                checksum.Update(segment.WrittenSpan);
                                output!.Write(segment.WrittenSpan);
                            }
                            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                            {
                                failure = e;
                            }
                        }
                    }
                }
            }

            if (failure is null)
            {
                WriteSeal(output!, checksum);
                file!.Flush(flushToDisk: fsync);
            }
        }
        catch (Exception e)
        {
            failure ??= e;
        }
        finally
        {
            file?.Dispose();
        }

        if (failure is not null)
        {
            File.Delete(temporary);
            throw failure;
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static Adler32 WriteHeader(Stream output)
    {
        using var header = new JuteWriter(16);
        TxnLogFormat.WriteFileHeader(header, StoreLayout.SnapshotMagic, -1);
        var checksum = new Adler32();
        checksum.Update(header.WrittenSpan);
        output.Write(header.WrittenSpan);
        return checksum;
    }

    /// <summary>The Adler-32 of everything before it and the "/" seal.</summary>
    private static void WriteSeal(Stream output, Adler32 checksum)
    {
        using var seal = new JuteWriter(16);
        seal.WriteLong(checksum.Value);
        seal.WriteString("/");
        output.Write(seal.WrittenSpan);
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
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var input = new SnapshotInput(file, path);
        try
        {
            var header = input.Read(16);
            var magic = header.ReadInt();
            var version = header.ReadInt();
            input.Consume(16);
            if (magic != StoreLayout.SnapshotMagic || version != StoreLayout.FormatVersion)
            {
                throw new CorruptStoreException(path, 0, $"not a version-2 snapshot (magic 0x{magic:x8}, version {version})");
            }

            var (tree, sessions) = DecodeBody(input);
            var checksumEnd = input.Position;
            input.StopChecksum();
            var expected = input.ReadLong();
            var seal = input.Read(5);
            if (seal.ReadInt() != 1 || input.Available[4] != (byte)'/')
            {
                throw new CorruptStoreException(path, input.Position, "missing seal");
            }

            if (input.Checksum != expected)
            {
                throw new CorruptStoreException(path, checksumEnd, "checksum mismatch");
            }

            return (tree, sessions);
        }
        catch (JuteException e)
        {
            throw new CorruptStoreException(path, input.Position, "snapshot does not decode: " + e.Message);
        }
    }

    // Per node after its path and data: acl id, then StatPersisted (czxid, mzxid, ctime, mtime,
    // version, cversion, aversion, ephemeralOwner, pzxid).
    private const int NodeFixedBytes = 8 + (4 * 8) + (3 * 4) + 8 + 8;

    /// <summary>
    /// Decodes the part of a snapshot that a SNAP transfer also carries: the sessions, the ACL table
    /// and the nodes up to the "/" terminator, reading the input a chunk at a time.
    /// </summary>
    public static (DataTree Tree, Dictionary<long, int> Sessions) DecodeBody(SnapshotInput input)
    {
        var path = input.Source;
        var sessions = new Dictionary<long, int>();
        for (var count = input.ReadInt(); count > 0; count--)
        {
            var id = input.ReadLong();
            sessions[id] = input.ReadInt();
        }

        var acls = new Dictionary<long, IReadOnlyList<Acl>> { [OpenAclId] = Acl.OpenAclUnsafe };
        for (var count = input.ReadInt(); count > 0; count--)
        {
            var id = input.ReadLong();
            acls[id] = ReadAclList(input) ?? [];
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
            // A node's size follows from its two length prefixes; make all of it available at once.
            var pathLength = input.Read(4).ReadInt();
            if (pathLength < 0)
            {
                throw new CorruptStoreException(path, input.Position, $"a node path of length {pathLength}");
            }

            // The "/" terminator may be the last thing in the input (a SNAP transfer's body).
            input.Require(4 + pathLength);
            if (pathLength == 1 && input.Available[4] == (byte)'/')
            {
                input.Consume(5);
                break;
            }

            input.Require(4 + pathLength + 4);

            var dataLength = new JuteReader(input.Available.Slice(4 + pathLength, 4)).ReadInt();
            if (dataLength < -1)
            {
                throw new CorruptStoreException(path, input.Position, $"node data of length {dataLength}");
            }

            var nodeBytes = 4 + pathLength + 4 + Math.Max(0, dataLength) + NodeFixedBytes;
            input.Require(nodeBytes);
            var r = new JuteReader(input.Available[..nodeBytes]);
            var pathBytes = r.ReadBufferSpan(out _);
            var data = r.ReadBuffer();
            var aclId = r.ReadLong();
            if (!acls.TryGetValue(aclId, out var acl))
            {
                throw new CorruptStoreException(path, input.Position, $"node {Text(pathBytes)} refers to unknown ACL id {aclId}");
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
                input.Consume(nodeBytes);
                continue;
            }

            var slash = pathBytes.LastIndexOf((byte)'/');
            var parentBytes = slash < 0 ? pathBytes : pathBytes[..slash];
            if (parent is null || !parentBytes.SequenceEqual(parentPath.AsSpan(0, parentPathLength)))
            {
                parent = slash < 0 ? null : slash == 0 ? tree.Root : tree.GetNode(Text(parentBytes));
                if (parent is null)
                {
                    throw new CorruptStoreException(path, input.Position, $"node {Text(pathBytes)} has no parent in the snapshot");
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
            input.Consume(nodeBytes);
        }

        return (tree, sessions);
    }

    /// <summary>An ACL list (a vector of perms, scheme, id), read item by item from the input.</summary>
    private static List<Acl>? ReadAclList(SnapshotInput input)
    {
        var count = input.ReadInt();
        if (count < 0)
        {
            return null;
        }

        var list = new List<Acl>(Math.Min(count, 64));
        for (var i = 0; i < count; i++)
        {
            var perms = input.ReadInt();
            var scheme = ReadString(input);
            var id = ReadString(input);
            list.Add(new Acl((SharpKeeper.Protocol.Perms)perms, new Id(scheme, id)));
        }

        return list;
    }

    private static string ReadString(SnapshotInput input)
    {
        var length = input.ReadInt();
        if (length < 0)
        {
            return string.Empty;
        }

        input.Require(length);
        var text = Text(input.Available[..length]);
        input.Consume(length);
        return text;
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
