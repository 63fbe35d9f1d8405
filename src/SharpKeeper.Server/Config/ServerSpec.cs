using System.Globalization;

namespace SharpKeeper.Server.Config;

public enum ServerRole
{
    Participant,
    Observer,
}

/// <summary>One address of a server: its host with the quorum and election ports there.</summary>
public sealed record ServerAddress(string Host, int QuorumPort, int ElectionPort);

/// <summary>
/// One <c>server.N=host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]</c> line. IPv6 hosts are held
/// without their brackets. A null <see cref="ClientAddress"/> with a <see cref="ClientPort"/> means all interfaces
/// (Apache reads a bare port as 0.0.0.0:port). With multiAddress.enabled a line lists several addresses separated
/// by '|' (<see cref="Addresses"/>); <see cref="Host"/> and the ports are the first one's.
/// </summary>
public sealed record ServerSpec(long Id, string Host, int QuorumPort, int ElectionPort, ServerRole Role, string? ClientAddress, int? ClientPort)
{
    private readonly IReadOnlyList<ServerAddress>? _addresses;

    /// <summary>Every address of the server, in the order of its line; one unless multiAddress.enabled.</summary>
    public IReadOnlyList<ServerAddress> Addresses
    {
        get => _addresses ?? [new ServerAddress(Host, QuorumPort, ElectionPort)];
        init => _addresses = value;
    }

    /// <summary>
    /// The value as Apache ZooKeeper writes it in a dynamic configuration: <c>host:2888:3888:participant;0.0.0.0:2181</c>;
    /// several addresses are joined by '|', quorum and election addresses each sorted by host, as Apache prints its sets.
    /// </summary>
    public string ToConfigValue()
    {
        var quorum = Addresses.Select(a => (a.Host, a.QuorumPort)).OrderBy(a => a.Host, StringComparer.Ordinal).ToList();
        var election = Addresses.Select(a => (a.Host, a.ElectionPort)).OrderBy(a => a.Host, StringComparer.Ordinal).ToList();
        var addresses = string.Join('|', quorum.Select((q, i) => string.Create(CultureInfo.InvariantCulture, $"{Bracket(q.Host)}:{q.QuorumPort}:{election[i].ElectionPort}")));
        var text = $"{addresses}:{(Role == ServerRole.Observer ? "observer" : "participant")}";
        return ClientPort is { } port
            ? string.Create(CultureInfo.InvariantCulture, $"{text};{Bracket(ClientAddress ?? "0.0.0.0")}:{port}")
            : text;
    }

    /// <summary>The same quorum addresses (hosts and quorum ports, in order): as Apache compares a server's addr across memberships.</summary>
    public bool HasSameQuorumAddresses(ServerSpec other) =>
        Addresses.Select(a => (a.Host, a.QuorumPort)).SequenceEqual(other.Addresses.Select(a => (a.Host, a.QuorumPort)));

    /// <summary>The election addresses as the initial message of an election connection names them: <c>host:port</c>, joined by '|'.</summary>
    public string ElectionAddressText() =>
        string.Join('|', Addresses.Select(a => string.Create(CultureInfo.InvariantCulture, $"{Bracket(a.Host)}:{a.ElectionPort}")));

    public bool Equals(ServerSpec? other) =>
        other is not null && Id == other.Id && Host == other.Host && QuorumPort == other.QuorumPort && ElectionPort == other.ElectionPort
        && Role == other.Role && ClientAddress == other.ClientAddress && ClientPort == other.ClientPort && Addresses.SequenceEqual(other.Addresses);

    public override int GetHashCode() => HashCode.Combine(Id, Host, QuorumPort, ElectionPort, Role, ClientAddress, ClientPort, Addresses.Count);

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Id = {Id}, Addresses = {string.Join('|', Addresses.Select(a => $"{a.Host}:{a.QuorumPort}:{a.ElectionPort}"))}, ");
        builder.Append(CultureInfo.InvariantCulture, $"Role = {Role}, ClientAddress = {ClientAddress}, ClientPort = {ClientPort}");
        return true;
    }

    private static string Bracket(string host) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
}
