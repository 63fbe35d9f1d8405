using System.Globalization;
using System.Text;

namespace SharpKeeper.Server.Config;

/// <summary>One <c>key=value</c> of a configuration file, after unescaping and trimming, with where it was written.</summary>
internal sealed record ConfigEntry(string Key, string Value, string File, int Line);

/// <summary>
/// Reads the java.util.Properties text format that zoo.cfg uses, so that a file means here what it means to
/// Apache ZooKeeper: <c>key=value</c>, <c>key: value</c> or <c>key value</c>; <c>#</c> and <c>!</c> comment lines;
/// a line ending in an odd number of backslashes continues on the next one (whose leading blanks are dropped);
/// escapes <c>\t \n \r \f \uXXXX</c>, any other backslash just drops itself. Keys and values are then trimmed,
/// as QuorumPeerConfig trims them.
/// </summary>
/// <remarks>Deviation: the text is read as UTF-8 where Java's Properties.load(InputStream) reads ISO-8859-1.</remarks>
internal static class PropertiesParser
{
    public static List<ConfigEntry> Parse(string text, string file, List<ConfigWarning> warnings)
    {
        var entries = new List<ConfigEntry>();
        var position = 0;
        var lineNumber = 1;
        var logical = new StringBuilder();
        while (ReadLogicalLine(text, ref position, ref lineNumber, logical, out var startLine))
        {
            var line = logical.ToString();
            var (rawKey, rawValue) = SplitKeyValue(line);
            var key = JavaTrim(Unescape(rawKey, file, startLine, rawKey, warnings));
            var value = JavaTrim(Unescape(rawValue, file, startLine, key, warnings));
            entries.Add(new ConfigEntry(key, value, file, startLine));
        }

        return entries;
    }

    private static bool IsBlank(char c) => c is ' ' or '\t' or '\f';

    /// <summary>
    /// Reads the next logical line (comments and blank lines skipped, continuations joined, escapes kept)
    /// into <paramref name="buffer"/>; false at the end of the text.
    /// </summary>
    private static bool ReadLogicalLine(string text, ref int position, ref int lineNumber, StringBuilder buffer, out int startLine)
    {
        buffer.Clear();
        startLine = lineNumber;
        var skipBlanks = true;
        var continuing = false;
        var joined = false;
        var isComment = false;
        var precedingBackslash = false;
        while (true)
        {
            if (position >= text.Length)
            {
                if (buffer.Length == 0 || isComment)
                {
                    return false;
                }

                if (precedingBackslash)
                {
                    // A backslash at the very end of the text continues nothing and is dropped.
                    buffer.Length--;
                }

                return true;
            }

            var c = text[position++];
            var isNewLine = c is '\n' or '\r';
            if (isNewLine)
            {
                if (c == '\r' && position < text.Length && text[position] == '\n')
                {
                    position++;
                }

                lineNumber++;
            }

            if (skipBlanks)
            {
                if (IsBlank(c))
                {
                    continue;
                }

                if (!continuing && isNewLine)
                {
                    startLine = lineNumber;
                    continue;
                }

                skipBlanks = false;
                continuing = false;
            }

            if (buffer.Length == 0 && !joined && !isNewLine && c is '#' or '!')
            {
                isComment = true;
            }

            if (!isNewLine)
            {
                buffer.Append(c);
                precedingBackslash = c == '\\' && !precedingBackslash;
                continue;
            }

            if (isComment)
            {
                // A comment ends at its line end, whatever it ends with.
                isComment = false;
                precedingBackslash = false;
                buffer.Clear();
                skipBlanks = true;
                startLine = lineNumber;
                continue;
            }

            if (precedingBackslash)
            {
                buffer.Length--;
                precedingBackslash = false;
                skipBlanks = true;
                continuing = true;
                joined = true;
                continue;
            }

            return true;
        }
    }

    /// <summary>The key ends at the first unescaped '=', ':' or blank; one '=' or ':' may follow blanks.</summary>
    private static (string Key, string Value) SplitKeyValue(string line)
    {
        var keyLength = 0;
        var valueStart = line.Length;
        var hasSeparator = false;
        var precedingBackslash = false;
        while (keyLength < line.Length)
        {
            var c = line[keyLength];
            if (c is '=' or ':' && !precedingBackslash)
            {
                valueStart = keyLength + 1;
                hasSeparator = true;
                break;
            }

            if (IsBlank(c) && !precedingBackslash)
            {
                valueStart = keyLength + 1;
                break;
            }

            precedingBackslash = c == '\\' && !precedingBackslash;
            keyLength++;
        }

        while (valueStart < line.Length)
        {
            var c = line[valueStart];
            if (!IsBlank(c))
            {
                if (!hasSeparator && c is '=' or ':')
                {
                    hasSeparator = true;
                }
                else
                {
                    break;
                }
            }

            valueStart++;
        }

        return (line[..keyLength], line[valueStart..]);
    }

    private static string Unescape(string text, string file, int line, string key, List<ConfigWarning> warnings)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                if (c != '\\')
                {
                    result.Append(c);
                }

                continue;
            }

            var escaped = text[++i];
            switch (escaped)
            {
                case 't':
                    result.Append('\t');
                    break;
                case 'n':
                    result.Append('\n');
                    break;
                case 'r':
                    result.Append('\r');
                    break;
                case 'f':
                    result.Append('\f');
                    break;
                case 'u':
                    if (text.Length - i - 1 < 4
                        || !int.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new ConfigException(file, line, key, "malformed \\uXXXX escape");
                    }

                    result.Append((char)code);
                    i += 4;
                    break;
                case '\\' or '=' or ':' or '#' or '!' or ' ':
                    result.Append(escaped);
                    break;
                default:
                    warnings.Add(new ConfigWarning(file, line, key,
                        $"'\\{escaped}' reads as '{escaped}' (java.util.Properties escaping); write '\\\\' for a backslash"));
                    result.Append(escaped);
                    break;
            }
        }

        return result.ToString();
    }

    /// <summary>java.lang.String.trim: drops every char up to U+0020 at both ends.</summary>
    internal static string JavaTrim(string text)
    {
        var start = 0;
        var end = text.Length;
        while (start < end && text[start] <= ' ')
        {
            start++;
        }

        while (end > start && text[end - 1] <= ' ')
        {
            end--;
        }

        return start == 0 && end == text.Length ? text : text[start..end];
    }
}
