using System.Globalization;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// The acceptedEpoch and currentEpoch files of dataDir, as Apache ZooKeeper keeps them: the
/// decimal epoch as text, replaced atomically. Missing files take the epoch of the last zxid.
/// </summary>
public sealed class EpochFiles(string dataDir)
{
    public const string Accepted = "acceptedEpoch";
    public const string Current = "currentEpoch";

    public long Read(string name, long lastZxid)
    {
        var path = Path.Combine(dataDir, name);
        if (!File.Exists(path))
        {
            var epoch = Zxid.EpochOf(lastZxid);
            Write(name, epoch);
            return epoch;
        }

        var text = File.ReadAllText(path).Trim();
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidDataException($"{path} does not hold an epoch: \"{text}\"");
        }

        return value;
    }

    public void Write(string name, long epoch)
    {
        var path = Path.Combine(dataDir, name);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(epoch.ToString(CultureInfo.InvariantCulture) + "\n"));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
