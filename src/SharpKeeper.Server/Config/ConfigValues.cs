using System.Globalization;

namespace SharpKeeper.Server.Config;

/// <summary>
/// Typed reads of configuration values, each error naming the file, line and key. Remembers which keys were
/// asked for, so that what is left over can be reported as unknown.
/// </summary>
internal sealed class ConfigValues
{
    private readonly Dictionary<string, ConfigEntry> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public ConfigValues(IEnumerable<ConfigEntry> entries)
    {
        foreach (var entry in entries)
        {
            _entries[entry.Key] = entry; // java.util.Properties: the last one wins.
        }
    }

    /// <summary>Every key asked for, present or not.</summary>
    public IReadOnlyCollection<string> KeysRead => _read;

    public bool WasRead(string key) => _read.Contains(key);

    public bool Contains(string key) => _entries.ContainsKey(key);

    /// <summary>
    /// The entry for <paramref name="key"/>. With <paramref name="systemProperty"/> the key may also be written
    /// "zookeeper.key" (the name of the system property Apache reads it from); both forms with different values is an error.
    /// </summary>
    public ConfigEntry? Find(string key, bool systemProperty = false)
    {
        _read.Add(key);
        _entries.TryGetValue(key, out var plain);
        if (!systemProperty)
        {
            return plain;
        }

        var prefixedKey = ConfigKeys.SystemPropertyPrefix + key;
        _read.Add(prefixedKey);
        if (!_entries.TryGetValue(prefixedKey, out var prefixed))
        {
            return plain;
        }

        if (plain is null)
        {
            return prefixed;
        }

        if (plain.Value != prefixed.Value)
        {
            var (first, second) = plain.Line <= prefixed.Line ? (plain, prefixed) : (prefixed, plain);
            throw new ConfigException(second.File, second.Line, second.Key,
                $"'{second.Value}' contradicts {first.Key}={first.Value} on line {first.Line}; set only one of them");
        }

        return plain;
    }

    /// <summary>The value, or null when the key is absent or its value empty.</summary>
    public string? String(string key, bool systemProperty = false) =>
        Find(key, systemProperty) is { Value.Length: > 0 } entry ? entry.Value : null;

    public int Int(string key, int fallback, int min = int.MinValue, int max = int.MaxValue, bool systemProperty = false) =>
        Find(key, systemProperty) is { } entry ? (int)ParseLong(entry, min, max) : fallback;

    public long Long(string key, long fallback, long min = long.MinValue, long max = long.MaxValue, bool systemProperty = false) =>
        Find(key, systemProperty) is { } entry ? ParseLong(entry, min, max) : fallback;

    /// <summary>A decimal number, as Double.parseDouble reads one (no NaN or infinity).</summary>
    public double Double(string key, double fallback, double min = double.MinValue, double max = double.MaxValue, bool systemProperty = false)
    {
        if (Find(key, systemProperty) is not { } entry)
        {
            return fallback;
        }

        if (!double.TryParse(entry.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            throw Error(entry, entry.Value.Length == 0 ? "no value given (a number is needed)" : $"'{entry.Value}' is not a number");
        }

        if (number < min || number > max)
        {
            throw Error(entry, $"{entry.Value} is out of range: it must be at most {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return number;
    }

    /// <summary>true or false, in any case (QuorumPeerConfig.parseBoolean).</summary>
    public bool Bool(string key, bool fallback, bool systemProperty = false)
    {
        if (Find(key, systemProperty) is not { } entry)
        {
            return fallback;
        }

        if (entry.Value.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (entry.Value.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        throw Error(entry, $"'{entry.Value}' is not true or false");
    }

    /// <summary>
    /// yes or no, exactly. Apache compares these with a single literal ("no" for forceSync, "yes" for skipACL) and
    /// silently takes anything else as the other choice; an error is kinder than guessing.
    /// </summary>
    public bool YesNo(string key, bool fallback, bool systemProperty = false)
    {
        if (Find(key, systemProperty) is not { } entry)
        {
            return fallback;
        }

        return entry.Value switch
        {
            "yes" => true,
            "no" => false,
            _ => throw Error(entry, $"'{entry.Value}' is not yes or no"),
        };
    }

    public static long ParseLong(ConfigEntry entry, long min, long max)
    {
        // Integer.parseInt: an optional sign and ASCII digits, nothing else.
        var text = entry.Value;
        var digits = text.Length > 0 && text[0] is '+' or '-' ? text.AsSpan(1) : text.AsSpan();
        if (digits.Length == 0 || digits.ContainsAnyExceptInRange('0', '9'))
        {
            throw Error(entry, text.Length == 0 ? "no value given (a number is needed)" : $"'{text}' is not a number");
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
        {
            throw Error(entry, RangeMessage(text, min, max));
        }

        return number;
    }

    private static string RangeMessage(string text, long min, long max)
    {
        if (max >= int.MaxValue)
        {
            return min <= int.MinValue
                ? $"{text} is out of range"
                : $"{text} is out of range: it must be at least {min}";
        }

        return $"{text} is out of range: it must be between {min} and {max}";
    }

    public static ConfigException Error(ConfigEntry entry, string message) => new(entry.File, entry.Line, entry.Key, message);
}
