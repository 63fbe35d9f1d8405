namespace SharpKeeper.Server.Network;

public sealed record NetworkOptions
{
    /// <summary>The largest frame accepted (jute.maxbuffer); a longer length prefix closes the connection.</summary>
    public int JuteMaxBuffer { get; init; } = 0xFFFFF;

    /// <summary>Connections allowed from one IP address; 0 = unlimited.</summary>
    public int MaxClientConnectionsPerIp { get; init; } = 60;
}
