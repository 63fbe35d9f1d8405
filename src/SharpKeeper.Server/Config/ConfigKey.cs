using System.Globalization;

namespace SharpKeeper.Server.Config;

/// <summary>
/// One key of zoo.cfg (or of a -D flag in SERVER_JVMFLAGS) as <see cref="ConfigKeyTable"/> declares
/// it: its name, what reads it, and whether Apache also reads it as the system property
/// "zookeeper." + name (<see cref="SystemProperty"/>). The typed kinds carry their default and
/// range, from which <see cref="ConfigValues"/> parses; <see cref="IgnoredKey"/> is accepted with a warning.
/// </summary>
public abstract record ConfigKey(string Name, string ReadBy)
{
    public bool SystemProperty { get; init; }

    /// <summary>The kind of value, for messages and the table in docs: integer, boolean, text, ….</summary>
    public abstract string Kind { get; }

    /// <summary>The default as text; "computed" when it depends on other keys; empty when there is none.</summary>
    public abstract string DefaultText { get; }

    public virtual string RangeText => "";
}

/// <summary>An integer; <see cref="Default"/> null when it is computed from other keys by its reader.</summary>
public sealed record IntKey(string Name, int? Default, string ReadBy, int Min = int.MinValue, int Max = int.MaxValue) : ConfigKey(Name, ReadBy)
{
    public override string Kind => "integer";

    public override string DefaultText => Default?.ToString(CultureInfo.InvariantCulture) ?? "computed";

    public override string RangeText => RangeOf(Min, Max, int.MinValue, int.MaxValue);

    internal static string RangeOf(long min, long max, long lowest, long highest) => (min == lowest, max == highest) switch
    {
        (true, true) => "",
        (false, true) => $">= {min}",
        (true, false) => $"<= {max}",
        _ => $"{min}..{max}",
    };
}

public sealed record LongKey(string Name, long? Default, string ReadBy, long Min = long.MinValue, long Max = long.MaxValue) : ConfigKey(Name, ReadBy)
{
    public override string Kind => "integer";

    public override string DefaultText => Default?.ToString(CultureInfo.InvariantCulture) ?? "computed";

    public override string RangeText => IntKey.RangeOf(Min, Max, long.MinValue, long.MaxValue);
}

/// <summary>A decimal number, as Double.parseDouble reads one.</summary>
public sealed record DecimalKey(string Name, double Default, string ReadBy, double Max = double.MaxValue) : ConfigKey(Name, ReadBy)
{
    public override string Kind => "decimal";

    public override string DefaultText => Default.ToString(CultureInfo.InvariantCulture);

    public override string RangeText => Max == double.MaxValue ? "" : $"<= {Max.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>true or false in any case (QuorumPeerConfig's parseBoolean).</summary>
public sealed record BoolKey(string Name, bool Default, string ReadBy) : ConfigKey(Name, ReadBy)
{
    public override string Kind => "boolean";

    public override string DefaultText => Default ? "true" : "false";
}

/// <summary>yes or no, exactly (forceSync, skipACL).</summary>
public sealed record YesNoKey(string Name, bool Default, string ReadBy) : ConfigKey(Name, ReadBy)
{
    public override string Kind => "yes/no";

    public override string DefaultText => Default ? "yes" : "no";
}

/// <summary>Text its reader parses further (a path, a host, a list, a class name…); <see cref="Default"/> null for none.</summary>
public sealed record TextKey(string Name, string? Default, string ReadBy) : ConfigKey(Name, ReadBy)
{
    public override string Kind => "text";

    public override string DefaultText => Default ?? "";
}

/// <summary>A key Apache ZooKeeper knows that SharpKeeper does not use: accepted, and said to be ignored when present.</summary>
public sealed record IgnoredKey(string Name, string Because) : ConfigKey(Name, "nothing: " + Because)
{
    public override string Kind => "ignored";

    public override string DefaultText => "";
}
