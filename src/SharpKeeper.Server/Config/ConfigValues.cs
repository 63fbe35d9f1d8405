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
    /// The entry for <paramref name="key"/>, which must be in <see cref="ConfigKeyTable"/> (or follow
    /// one of its patterns). A key Apache also reads as a system property may be written
    /// "zookeeper.key" too; both forms with different values is an error.
    /// </summary>
    public ConfigEntry? Find(string key) => Find(key, Declared<ConfigKey>(key)?.SystemProperty ?? false);

    private ConfigEntry? Find(string key, bool systemProperty)
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

    /// <summary>The value, or the table's default when the key is absent or its value empty.</summary>
    public string? String(string key)
    {
        var declared = Declared<TextKey>(key)!;
        return Find(key, declared.SystemProperty) is { Value.Length: > 0 } entry ? entry.Value : declared.Default;
    }

    /// <summary>The value, or the table's default; its range is checked.</summary>
    public int Int(string key)
    {
        var declared = Declared<IntKey>(key)!;
        return Int(declared, declared.Default ?? throw new InvalidOperationException($"{key} has a computed default: its reader must give it"));
    }

    /// <summary>The value, or <paramref name="computed"/> for a key whose default depends on other keys.</summary>
    public int Int(string key, int computed) => Int(Declared<IntKey>(key)!, computed);

    private int Int(IntKey declared, int fallback) =>
        Find(declared.Name, declared.SystemProperty) is { } entry ? (int)ParseLong(entry, declared.Min, declared.Max) : fallback;

    public long Long(string key)
    {
        var declared = Declared<LongKey>(key)!;
        var fallback = declared.Default ?? throw new InvalidOperationException($"{key} has a computed default: its reader must give it");
        return Find(key, declared.SystemProperty) is { } entry ? ParseLong(entry, declared.Min, declared.Max) : fallback;
    }

    /// <summary>A decimal number, as Double.parseDouble reads one (no NaN or infinity).</summary>
    public double Double(string key)
    {
        var declared = Declared<DecimalKey>(key)!;
        if (Find(key, declared.SystemProperty) is not { } entry)
        {
            return declared.Default;
        }

        if (!double.TryParse(entry.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
        {
            throw Error(entry, entry.Value.Length == 0 ? "no value given (a number is needed)" : $"'{entry.Value}' is not a number");
        }

        if (number > declared.Max)
        {
            throw Error(entry, $"{entry.Value} is out of range: it must be at most {declared.Max.ToString(CultureInfo.InvariantCulture)}");
        }

        return number;
    }

    /// <summary>true or false, in any case (QuorumPeerConfig.parseBoolean).</summary>
    public bool Bool(string key)
    {
        var declared = Declared<BoolKey>(key)!;
        if (Find(key, declared.SystemProperty) is not { } entry)
        {
            return declared.Default;
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
    public bool YesNo(string key)
    {
        var declared = Declared<YesNoKey>(key)!;
        if (Find(key, declared.SystemProperty) is not { } entry)
        {
            return declared.Default;
        }

        return entry.Value switch
        {
            "yes" => true,
            "no" => false,
            _ => throw Error(entry, $"'{entry.Value}' is not yes or no"),
        };
    }

    /// <summary>
    /// The table's declaration of a key the parser reads, as the kind it is read as. A key missing
    /// from the table, or read as another kind, is a mistake in SharpKeeper, not in the file.
    /// </summary>
    private static T? Declared<T>(string key)
        where T : ConfigKey
    {
        if (ConfigKeyTable.IsPatternKey(key) && ConfigKeyTable.Find(key) is null)
        {
            return null;
        }

        return ConfigKeyTable.Find(key) switch
        {
            T declared => declared,
            null => throw new InvalidOperationException($"configuration key {key} is read but not declared in ConfigKeyTable"),
            var other => throw new InvalidOperationException($"configuration key {key} is declared as {other.Kind} ({other.GetType().Name}) but read as {typeof(T).Name}"),
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
