using System.Net;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Reconfig;

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

    /// <summary>The committed membership's voters (it changes with reconfig).</summary>
    public IReadOnlySet<long> Voters => Membership.Committed.Voters;

    public ReconfigSettings Reconfig => field ??= new ReconfigSettings(Config.ReconfigEnabled, Config.StandaloneEnabled, Config.MultiAddressEnabled);

    /// <summary>
    /// The committed and the last seen membership: from the configuration (and, with reconfigEnabled,
    /// a <c>.dynamic.next</c> left by a reconfig this server saw proposed and not committed).
    /// </summary>
    public QuorumMembership Membership => field ??= BuildMembership();

    private QuorumMembership BuildMembership()
    {
        var committed = new QuorumVerifier(Config.Servers.Values, Config.QuorumConfigVersion);
        if (!Config.ReconfigEnabled || Config.SourceFile is not { } file || !File.Exists(file))
        {
            return new QuorumMembership(committed);
        }

        var files = new DynamicConfigFiles(file, MyId, LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Reconfig"));
        return new QuorumMembership(committed, files.ReadNext(Config.MultiAddressEnabled), files);
    }

    public int TickTimeMs => Config.TickTime;

    public TimeSpan InitLimit => TimeSpan.FromMilliseconds((long)Config.TickTime * Config.InitLimit);

    public TimeSpan SyncLimit => TimeSpan.FromMilliseconds((long)Config.TickTime * Config.SyncLimit);

    public int MaxPacket => Config.JuteMaxBuffer + Config.JuteMaxBufferExtraSize + 1024 * 1024;

    /// <summary>The committed membership as Apache ZooKeeper prints it (election notifications, /zookeeper/config).</summary>
    public string MembershipText => Membership.Committed.Text;

    /// <summary>This server's line: in the committed membership, else (removed, or not yet added) in the configuration.</summary>
    public ServerSpec Me => Membership.Committed.Members.TryGetValue(MyId, out var me) ? me : Config.Servers[MyId];

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

    /// <summary>
    /// For a learner older than the history in memory: the committed txns after its last zxid from
    /// the txn log (read on this thread, not the core's), when the log holds that zxid (or it starts
    /// an epoch) and the txns take at most snapshotSizeFactor of the newest snapshot's size.
    /// </summary>
    public LoggedTxns? ReadCommittedFromLog(long peerLastZxid, long through, ILogger logger)
    {
        var factor = Config.SnapshotSizeFactor;
        if (factor < 0)
        {
            return null;
        }

        var snapshotSize = Store.NewestSnapshotSize();
        var limit = (long)(factor * snapshotSize);
        try
        {
            var txns = Store.ReadTxnsAfter(peerLastZxid, through, limit, out var holdsPeer);
            if (txns is null || !(holdsPeer || Zxid.CounterOf(peerLastZxid) == 0))
            {
                return null;
            }

            return new LoggedTxns(through, txns, txns.Sum(t => (long)t.Body.Length), $"within snapshotSizeFactor {factor} of the {snapshotSize}-byte snapshot");
        }
        catch (Exception e) when (e is IOException or CorruptStoreException)
        {
            logger.LogWarning("Cannot read the txn log to sync a learner from 0x{Zxid:x}: {Message}", peerLastZxid, e.Message);
            return null;
        }
    }
}
