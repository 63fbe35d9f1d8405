using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Cli;

/// <summary>The data-directory tools: what zkCleanup.sh, zkSnapShotToolkit and zkTxnLogToolkit do.</summary>
public static class StoreCommands
{
    /// <summary>Keeps the newest <paramref name="retain"/> snapshots (at least 3) and the logs they need.</summary>
    public static int Cleanup(string? configPath, int retain)
    {
        var config = configPath is null ? ServerConfig.EmbeddedDefault(Environment.CurrentDirectory) : ServerConfig.Load(configPath);
        if (retain < 3)
        {
            Console.Error.WriteLine($"-n {retain} is below the minimum of 3; keeping 3 snapshots");
        }

        var store = new FileStore(config.DataDir, config.DataLogDir, NullLogger.Instance);
        var deleted = store.Purge(retain);
        foreach (var file in deleted)
        {
            Console.WriteLine($"Removing file: {file}");
        }

        Console.WriteLine($"{deleted.Count} files removed");
        return 0;
    }

    public static int SnapshotDump(string path, bool withData)
    {
        try
        {
            var (tree, sessions) = SnapshotFile.Read(path);
            var output = new StringBuilder();
            output.Append(CultureInfo.InvariantCulture, $"ZNode Details (count={tree.NodeCount}):\n");
            Dump(output, tree, "/", tree.Root, withData);
            output.Append(CultureInfo.InvariantCulture, $"Session Details (sid, timeout, ephemeralCount): {sessions.Count}\n");
            foreach (var (id, timeout) in sessions.OrderBy(s => s.Key))
            {
                output.Append(CultureInfo.InvariantCulture, $"0x{id:x}, {timeout}, {tree.EphemeralsOf(id).Count}\n");
            }

            output.Append(CultureInfo.InvariantCulture, $"Last zxid: 0x{StoreLayout.ZxidOf(Path.GetFileName(path), StoreLayout.SnapshotPrefix):x}\n");
            Console.Write(output);
            return 0;
        }
        catch (CorruptStoreException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    private static void Dump(StringBuilder output, DataTree tree, string path, DataNode node, bool withData)
    {
        var stat = node.ToStat();
        output.Append("----\n").Append(path).Append('\n');
        output.Append(CultureInfo.InvariantCulture, $"  cZxid = 0x{stat.Czxid:x}\n  ctime = {Time(stat.Ctime)}\n  mZxid = 0x{stat.Mzxid:x}\n  mtime = {Time(stat.Mtime)}\n");
        output.Append(CultureInfo.InvariantCulture, $"  pZxid = 0x{stat.Pzxid:x}\n  cversion = {stat.Cversion}\n  dataVersion = {stat.Version}\n  aclVersion = {stat.Aversion}\n");
        output.Append(CultureInfo.InvariantCulture, $"  ephemeralOwner = 0x{stat.EphemeralOwner:x}\n  dataLength = {stat.DataLength}\n");
        if (withData && node.Data is { } data)
        {
            output.Append("  data = ").Append(Convert.ToBase64String(data)).Append('\n');
        }

        foreach (var (name, child) in node.Children.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            Dump(output, tree, path == "/" ? "/" + name : path + "/" + name, child, withData);
        }
    }

    public static int TxnLogDump(string path)
    {
        var output = new StringBuilder();
        try
        {
            var scan = TxnLogReader.Read(path, (header, txn) =>
            {
                output.Append(CultureInfo.InvariantCulture,
                    $"{Time(header.Time)} session 0x{header.ClientId:x} cxid 0x{header.Cxid:x} zxid 0x{header.Zxid:x} {Name(header.Type)} {Describe(txn)}\n");
            });
            output.Append(CultureInfo.InvariantCulture, $"{scan.Records} txns");
            if (scan.TornTail)
            {
                output.Append(CultureInfo.InvariantCulture, $"; torn record at offset {scan.ValidLength} (cut off at the next start)");
            }

            Console.WriteLine(output.Append('\n').ToString().TrimEnd());
            return 0;
        }
        catch (CorruptStoreException e)
        {
            Console.Write(output);
            Console.Error.WriteLine(e.Message);
            return 1;
        }
    }

    private static string Name(OpCode type) => type switch
    {
        OpCode.CreateSession => "createSession",
        OpCode.CloseSession => "closeSession",
        OpCode.Error => "error",
        _ => char.ToLowerInvariant(type.ToString()[0]) + type.ToString()[1..],
    };

    private static string Describe(Txn txn) => txn switch
    {
        CreateTxn c => $"'{c.Path},{Data(c.Data)},{Acls(c.Acl)},{c.Ephemeral},{c.ParentCVersion}" + (c.Ttl != 0 ? $",{c.Ttl}" : ""),
        DeleteTxn d => $"'{d.Path}",
        SetDataTxn s => $"'{s.Path},{Data(s.Data)},{s.Version}",
        SetAclTxn a => $"'{a.Path},{Acls(a.Acl)},{a.Version}",
        CheckVersionTxn c => $"'{c.Path},{c.Version}",
        CreateSessionTxn s => s.Timeout.ToString(CultureInfo.InvariantCulture),
        CloseSessionTxn c => string.Join(",", c.PathsToDelete),
        ErrorTxn e => e.Err.ToString(),
        MultiTxn m => "[" + string.Join("; ", m.Txns.Select(t => $"{Name(t.Type)} {Describe(t.Body)}")) + "]",
        _ => "",
    };

    private static string Data(byte[]? data) => data is null ? "null" : "#" + Convert.ToHexString(data).ToLowerInvariant();

    private static string Acls(IReadOnlyList<Acl> acl) => "v{" + string.Join(",", acl.Select(a => $"s{{{(int)a.Perms},{a.Id.Scheme}:{a.Id.Ident}}}")) + "}";

    private static string Time(long millis) =>
        DateTimeOffset.FromUnixTimeMilliseconds(millis).ToLocalTime().ToString("ddd MMM dd HH:mm:ss zzz yyyy", CultureInfo.InvariantCulture);
}
