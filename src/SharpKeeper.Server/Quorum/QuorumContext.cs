using System.Net;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>What every role of an ensemble member needs: its configuration, core, store and epochs.</summary>
public sealed class QuorumContext
{
    public required ServerConfig Config { get; init; }
    public required long MyId { get; init; }
    public required ServerCore Core { get; init; }
    public required FileStore Store { get; init; }
    public required FileTxnLog Log { get; init; }
    public required EpochFiles Epochs { get; init; }
    public required ILoggerFactory LoggerFactory { get; init; }

    /// <summary>How connections between servers are secured (sslQuorum, portUnification); built from the configuration once.</summary>
    public QuorumTransport Transport => field ??= BuildTransport();

    /// <summary>SASL between servers (quorum.auth.enableSasl); null when off.</summary>
    public QuorumSasl? Sasl => Config.QuorumSasl is { } settings
        ? field ??= new QuorumSasl(settings, Config.JuteMaxBuffer, LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Sasl"))
        : null;

    private QuorumTransport BuildTransport()
    {
        var logger = LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Transport");
        var warnings = new Network.RateLimitedWarnings(logger, TimeSpan.FromMinutes(1));
        var tls = Config.QuorumTls is { } settings ? new Network.QuorumTls(settings, logger, warnings) : null;
        return new QuorumTransport(tls, dialTls: Config.SslQuorum, acceptPlain: !Config.SslQuorum || Config.PortUnification, logger, warnings);
    }

    public IReadOnlySet<long> Voters => field ??= Config.Servers.Values.Where(s => s.Role == ServerRole.Participant).Select(s => s.Id).ToHashSet();

    public int TickTimeMs => Config.TickTime;

    public TimeSpan InitLimit => TimeSpan.FromMilliseconds((long)Config.TickTime * Config.InitLimit);

    public TimeSpan SyncLimit => TimeSpan.FromMilliseconds((long)Config.TickTime * Config.SyncLimit);

    public int MaxPacket => Config.JuteMaxBuffer + Config.JuteMaxBufferExtraSize + 1024 * 1024;

    /// <summary>The membership as Apache ZooKeeper prints it (election notifications, NEWLEADER, /zookeeper/config).</summary>
    public string MembershipText => field ??= BuildMembershipText();

    private string BuildMembershipText()
    {
        var text = new System.Text.StringBuilder();
        foreach (var spec in Config.Servers.Values.OrderBy(s => s.Id))
        {
            // A client address only when the server line gives one, as Apache prints it.
            text.Append("server.").Append(spec.Id).Append('=').Append(spec.ToConfigValue()).Append('\n');
        }

        text.Append("version=").Append(Config.QuorumConfigVersion.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        return text.ToString();
    }

    public ServerSpec Me => Config.Servers[MyId];

    /// <summary>An observer learns every committed txn but never votes, in elections or on proposals.</summary>
    public bool IsObserver => Me.Role == ServerRole.Observer;

    public static EndPoint EndPointOf(string host, int port) =>
        IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);

    /// <summary>Where this server listens: its own addresses, or every interface with quorumListenOnAllIPs.</summary>
    public IReadOnlyList<IPEndPoint> ListenEndPoints(Func<ServerAddress, int> port)
    {
        if (Config.QuorumListenOnAllIPs)
        {
            return [new IPEndPoint(IPAddress.IPv6Any, port(Me.Addresses[0]))];
        }

        return [.. Me.Addresses.Select(a => new IPEndPoint(IPAddress.TryParse(a.Host, out var parsed) ? parsed : Dns.GetHostAddresses(a.Host).First(), port(a)))];
    }

    /// <summary>A server's quorum or election endpoints, in the order of its line.</summary>
    public static IReadOnlyList<EndPoint> EndPointsOf(ServerSpec spec, Func<ServerAddress, int> port) =>
        [.. spec.Addresses.Select(a => EndPointOf(a.Host, port(a)))];
}
