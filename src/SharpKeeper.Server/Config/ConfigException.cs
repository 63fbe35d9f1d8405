namespace SharpKeeper.Server.Config;

/// <summary>
/// A configuration error, naming the file, line and key so an operator can fix it at once. The message reads
/// <c>zoo.cfg:12: tickTime: 'abc' is not a number</c>; the line is left out when the problem is not on one line
/// (a required key that is missing, say) and the key when it is about the whole file.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int line, string key, string message, Exception? innerException = null)
        : base(Format(file, line, key, message), innerException)
    {
        File = file;
        Line = line;
        Key = key;
        Detail = message;
    }

    /// <summary>The configuration file (or myid file) as it was named, or the source name given to Parse.</summary>
    public string File { get; }

    /// <summary>1-based line, 0 when the problem is not on one line.</summary>
    public int Line { get; }

    /// <summary>The key at fault, empty when the problem is with the whole file.</summary>
    public string Key { get; }

    /// <summary>The message without the file, line and key.</summary>
    public string Detail { get; }

    internal static string Format(string file, int line, string key, string message)
    {
        var where = line > 0 ? $"{file}:{line}" : file;
        return key.Length > 0 ? $"{where}: {key}: {message}" : $"{where}: {message}";
    }
}

/// <summary>Something in the configuration that is accepted but probably not what was meant (an unknown key, say).</summary>
public sealed record ConfigWarning(string File, int Line, string Key, string Message)
{
    public override string ToString() => ConfigException.Format(File, Line, Key, Message);
}
