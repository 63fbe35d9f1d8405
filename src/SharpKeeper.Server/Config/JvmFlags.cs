using System.Text;

namespace SharpKeeper.Server.Config;

/// <summary>
/// The Java flags an Apache operator puts in SERVER_JVMFLAGS or JVMFLAGS (zkEnv.sh, conf/java.env):
/// every <c>-Dkey=value</c> becomes a configuration entry with Apache's meaning — zookeeper.* keys as
/// the system properties Apache reads, others (jute.maxbuffer, java.security.auth.login.config, …)
/// as they are — which zoo.cfg overrides, as Apache's zoo.cfg overrides the system properties. A
/// property SharpKeeper does not know is warned about by name, like an unknown zoo.cfg key; JVM
/// options of other kinds (-Xmx, -XX:…) have no meaning here and are named in one warning.
/// </summary>
internal static class JvmFlags
{
    public const string ServerVariable = "SERVER_JVMFLAGS";
    public const string CommonVariable = "JVMFLAGS";

    /// <summary>The -D entries of both variables (SERVER_JVMFLAGS after JVMFLAGS, so it wins, as zkServer.sh orders them).</summary>
    public static List<ConfigEntry> Read(Func<string, string?> environment, List<ConfigWarning> warnings)
    {
        var entries = new List<ConfigEntry>();
        foreach (var variable in new[] { CommonVariable, ServerVariable })
        {
            if (environment(variable) is not { Length: > 0 } text)
            {
                continue;
            }

            var ignored = new List<string>();
            foreach (var token in Split(text))
            {
                if (!token.StartsWith("-D", StringComparison.Ordinal) || token.Length == 2)
                {
                    ignored.Add(token);
                    continue;
                }

                var equals = token.IndexOf('=', StringComparison.Ordinal);
                var key = equals < 0 ? token[2..] : token[2..equals];
                var value = equals < 0 ? "" : token[(equals + 1)..];
                entries.Add(new ConfigEntry(key, value, variable, 0));
            }

            if (ignored.Count > 0)
            {
                warnings.Add(new ConfigWarning(variable, 0, "", $"JVM options have no meaning for SharpKeeper; ignored: {string.Join(' ', ignored)}"));
            }
        }

        return entries;
    }

    /// <summary>
    /// zoo.cfg's entries after the flags', without the flags zoo.cfg sets too (in either the plain
    /// or the zookeeper.-prefixed form): the file wins.
    /// </summary>
    public static List<ConfigEntry> Merge(List<ConfigEntry> flags, List<ConfigEntry> file)
    {
        var inFile = new HashSet<string>(file.Select(e => Unprefixed(e.Key)), StringComparer.Ordinal);
        var merged = new List<ConfigEntry>(flags.Count + file.Count);
        merged.AddRange(flags.Where(f => !inFile.Contains(Unprefixed(f.Key))));
        merged.AddRange(file);
        return merged;
    }

    private static string Unprefixed(string key) =>
        key.StartsWith(ConfigKeys.SystemPropertyPrefix, StringComparison.Ordinal) ? key[ConfigKeys.SystemPropertyPrefix.Length..] : key;

    /// <summary>Splits as a shell would for the simple cases: blanks separate, single and double quotes group.</summary>
    private static IEnumerable<string> Split(string text)
    {
        var token = new StringBuilder();
        var inToken = false;
        char? quote = null;
        foreach (var c in text)
        {
            if (quote is { } open)
            {
                if (c == open)
                {
                    quote = null;
                }
                else
                {
                    token.Append(c);
                }

                continue;
            }

            if (c is '\'' or '"')
            {
                quote = c;
                inToken = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inToken)
                {
                    yield return token.ToString();
                    token.Clear();
                    inToken = false;
                }
            }
            else
            {
                token.Append(c);
                inToken = true;
            }
        }

        if (inToken)
        {
            yield return token.ToString();
        }
    }
}
