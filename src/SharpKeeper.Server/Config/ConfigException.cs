namespace SharpKeeper.Server.Config;

/// <summary>A configuration error, naming the file, line and key so an operator can fix it at once.</summary>
public sealed class ConfigException(string file, int line, string key, string message)
    : Exception(line > 0 ? $"{file}:{line}: {key}: {message}" : $"{file}: {key}: {message}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string Key { get; } = key;
}

/// <summary>Something in the configuration that is accepted but probably not what was meant.</summary>
public sealed record ConfigWarning(string File, int Line, string Key, string Message);

public enum ServerRole
{
    Participant,
    Observer,
}

/// <summary>One `server.N=` line.</summary>
public sealed record ServerSpec(long Id, string Host, int QuorumPort, int ElectionPort, ServerRole Role, string? ClientAddress, int? ClientPort);
