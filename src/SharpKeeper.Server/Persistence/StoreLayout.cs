using System.Globalization;

namespace SharpKeeper.Server.Persistence;

/// <summary>Apache ZooKeeper's on-disk names: version-2/log.&lt;hex zxid&gt; and version-2/snapshot.&lt;hex zxid&gt;.</summary>
public static class StoreLayout
{
    public const string VersionDirectory = "version-2";
    public const string LogPrefix = "log";
    public const string SnapshotPrefix = "snapshot";
    public const int LogMagic = 0x5A4B4C47;      // "ZKLG"
    public const int SnapshotMagic = 0x5A4B534E; // "ZKSN"
    public const int FormatVersion = 2;
    public const byte EndOfRecord = 0x42;        // 'B'

    public static string FileName(string prefix, long zxid) => $"{prefix}.{zxid.ToString("x", CultureInfo.InvariantCulture)}";

    /// <summary>The zxid in a file name like log.1a2b, or -1 when the name is not of that form.</summary>
    public static long ZxidOf(string fileName, string prefix)
    {
        var expected = prefix + ".";
        if (!fileName.StartsWith(expected, StringComparison.Ordinal))
        {
            return -1;
        }

        return long.TryParse(fileName.AsSpan(expected.Length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var zxid) ? zxid : -1;
    }

    /// <summary>Files of one kind in a version-2 directory, oldest first.</summary>
    public static List<(long Zxid, string Path)> List(string versionDirectory, string prefix)
    {
        if (!Directory.Exists(versionDirectory))
        {
            return [];
        }

        return [.. Directory.EnumerateFiles(versionDirectory)
            .Select(path => (Zxid: ZxidOf(Path.GetFileName(path), prefix), Path: path))
            .Where(f => f.Zxid >= 0)
            .OrderBy(f => f.Zxid)];
    }
}
