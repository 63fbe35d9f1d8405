using System.Globalization;

namespace SharpKeeper.Server.Config;

public enum ServerRole
{
    Participant,
    Observer,
}

/// <summary>
/// One <c>server.N=host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]</c> line. IPv6 hosts are held
/// without their brackets. A null <see cref="ClientAddress"/> with a <see cref="ClientPort"/> means all interfaces
/// (Apache reads a bare port as 0.0.0.0:port).
/// </summary>
public sealed record ServerSpec(long Id, string Host, int QuorumPort, int ElectionPort, ServerRole Role, string? ClientAddress, int? ClientPort)
{
    /// <summary>The value as Apache ZooKeeper writes it in a dynamic configuration: <c>host:2888:3888:participant;0.0.0.0:2181</c>.</summary>
    public string ToConfigValue()
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{Bracket(Host)}:{QuorumPort}:{ElectionPort}:{(Role == ServerRole.Observer ? "observer" : "participant")}");
        return ClientPort is { } port
            ? string.Create(CultureInfo.InvariantCulture, $"{text};{Bracket(ClientAddress ?? "0.0.0.0")}:{port}")
            : text;
    }

    private static string Bracket(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
}
