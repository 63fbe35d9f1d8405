namespace SharpKeeper.Server.Network;

public sealed record NetworkOptions
{
    /// <summary>The largest frame accepted (jute.maxbuffer); a longer length prefix closes the connection.</summary>
    public int JuteMaxBuffer { get; init; } = 0xFFFFF;

    /// <summary>Connections allowed from one IP address; 0 = unlimited.</summary>
    public int MaxClientConnectionsPerIp { get; init; } = 60;

    /// <summary>Connections allowed in all, on every client port (maxCnxns); 0 = unlimited.</summary>
    public int MaxConnections { get; init; }

    /// <summary>The open client connections of every listener, counted against <see cref="MaxConnections"/>.</summary>
    public Func<int>? TotalConnections { get; init; }
}
