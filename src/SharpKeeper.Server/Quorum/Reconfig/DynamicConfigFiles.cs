using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>
/// The files Apache's reconfig keeps beside zoo.cfg, in its formats: <c>zoo.cfg.dynamic.&lt;hex version&gt;</c>
/// for each committed membership (server lines sorted as text, no version line), <c>zoo.cfg.dynamic.next</c>
/// for one proposed and not yet committed (with its version line), and zoo.cfg itself rewritten to
/// point at the newest dynamic file (its server lines, and this server's client port when its line
/// gives one, move there; the original is kept once as <c>zoo.cfg.bak</c>). Every file is written
/// to a temporary name, flushed and renamed, so a crash leaves the old file or the new one.
/// </summary>
public sealed class DynamicConfigFiles(string staticConfigFile, long myId, ILogger logger)
{
    public string NextFile => staticConfigFile + ".dynamic.next";

    public string ActiveFile(long version) => staticConfigFile + ".dynamic." + version.ToString("x", CultureInfo.InvariantCulture);

    public void WriteNext(QuorumVerifier proposed) => Write(NextFile, Lines(proposed, withVersion: true));

    public void WriteActive(QuorumVerifier committed, bool removeNext)
    {
        var file = ActiveFile(committed.Version);
        Write(file, Lines(committed, withVersion: false));
        RewriteStaticConfig(Path.GetFullPath(file), committed);
        if (removeNext)
        {
            File.Delete(NextFile);
        }

        logger.LogInformation("Quorum configuration version 0x{Version:x} written to {File}", committed.Version, file);
    }

    /// <summary>The next membership left by a reconfig that was proposed and never committed here, if any.</summary>
    public QuorumVerifier? ReadNext(bool multiAddressEnabled) =>
        File.Exists(NextFile) ? QuorumVerifier.Parse(File.ReadAllText(NextFile), NextFile, multiAddressEnabled) : null;

    /// <summary>As Apache's writeDynamicConfig: key=value lines sorted as strings, joined by newlines, none at the end.</summary>
    private static string Lines(QuorumVerifier verifier, bool withVersion)
    {
        var lines = verifier.Members.Values.Select(s => $"server.{s.Id}={s.ToConfigValue()}").ToList();
        if (withVersion)
        {
            lines.Add("version=" + verifier.Version.ToString("x", CultureInfo.InvariantCulture));
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);
    }

    /// <summary>
    /// As Apache's editStaticConfig: zoo.cfg keeps every other key, loses its server, group, weight,
    /// peerType and dynamicConfigFile keys (and clientPort, clientPortAddress when this server's line
    /// carries its client address) and gains dynamicConfigFile.
    /// </summary>
    private void RewriteStaticConfig(string dynamicFile, QuorumVerifier committed)
    {
        var backup = staticConfigFile + ".bak";
        if (!File.Exists(backup))
        {
            File.Copy(staticConfigFile, backup);
        }

        var clientInDynamic = committed.Members.TryGetValue(myId, out var me) && me.ClientPort is not null;
        var kept = new StringBuilder();
        foreach (var entry in PropertiesParser.Parse(File.ReadAllText(staticConfigFile), staticConfigFile, []))
        {
            var key = entry.Key;
            var dropped = key.StartsWith("server.", StringComparison.Ordinal) || key.StartsWith("group", StringComparison.Ordinal)
                || key.StartsWith("weight", StringComparison.Ordinal) || key.StartsWith("dynamicConfigFile", StringComparison.Ordinal)
                || key.StartsWith("peerType", StringComparison.Ordinal)
                || (clientInDynamic && key.StartsWith("clientPort", StringComparison.Ordinal));
            if (!dropped)
            {
                kept.Append(key).Append('=').Append(entry.Value).Append('\n');
            }
        }

        kept.Append("dynamicConfigFile=").Append(dynamicFile).Append('\n');
        Write(staticConfigFile, kept.ToString());
    }

    private static void Write(string file, string text)
    {
        var temporary = file + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, file, overwrite: true);
    }
}
