using System.Text;

namespace SharpKeeper.Server.Network;

/// <summary>The four-letter words recognised in place of a length prefix on a fresh connection.</summary>
public static class FourLetterWords
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr",
        "stat", "stmk", "wchc", "wchp", "wchs",
    };

    public static bool TryParse(ReadOnlySpan<byte> prefix, out string word)
    {
        word = prefix.Length == 4 ? Encoding.ASCII.GetString(prefix) : "";
        return All.Contains(word);
    }
}
