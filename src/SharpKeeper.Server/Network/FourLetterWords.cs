using System.Text;

namespace SharpKeeper.Server.Network;

/// <summary>The four-letter words recognised in place of a length prefix on a fresh connection.</summary>
public static class FourLetterWords
{
    /// <summary>The known words; the configuration owns the list because the whitelist refers to it.</summary>
    public static IReadOnlySet<string> All => Config.ConfigKeys.FourLetterWords;

    public static bool TryParse(ReadOnlySpan<byte> prefix, out string word)
    {
        word = prefix.Length == 4 ? Encoding.ASCII.GetString(prefix) : "";
        return All.Contains(word);
    }
}
