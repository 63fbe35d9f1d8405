namespace SharpKeeper.Server.Config;

/// <summary>
/// A parsed zoo.cfg: the keys Apache ZooKeeper 3.8 reads, with its defaults and its validation, so that a file
/// written for Apache ZooKeeper means the same here. A bad value is a <see cref="ConfigException"/> naming the
/// file, line and key; an unknown key, and anything Apache only logs a warning about, is a <see cref="ConfigWarning"/>.
/// Keys Apache reads as "zookeeper.*" system properties (snapCount, forceSync, ...) may be written with or without
/// that prefix.
/// </summary>
public sealed partial class ServerConfig
{
    /// <summary>ZooKeeperServer.DEFAULT_TICK_TIME: the tick when zoo.cfg sets none.</summary>
    public const int DefaultTickTime = 3000;

    public const int DefaultMaxClientCnxns = 60;
    public const int DefaultSnapCount = 100000;

    /// <summary>Committed txns a leader keeps to DIFF a learner from (Apache keeps 500 in memory and reads older ones from its logs).</summary>
    public const int DefaultCommitLogCount = 50000;
    public const double DefaultSnapshotSizeFactor = 0.33;
    public const long DefaultPreAllocSizeKb = 65536;
    public const int DefaultJuteMaxBuffer = 0xFFFFF;
    public const int DefaultGlobalOutstandingLimit = 1000;
    public const int MinSnapRetainCount = 3;

    /// <summary>EphemeralType.MAX_EXTENDED_SERVER_ID: with extended types a server id must fit in one byte (minus one).</summary>
    public const long MaxExtendedServerId = 254;

    private const string EmbeddedSourceName = "(embedded default)";

    private ServerConfig()
    {
    }

    /// <summary>The full path of the file read, or the source name given to <see cref="Parse"/>; null for <see cref="EmbeddedDefault"/>.</summary>
    public string? SourceFile { get; private set; }

    /// <summary>Milliseconds per tick (tickTime, default 3000 as in Apache).</summary>
    public int TickTime { get; private set; }

    /// <summary>Ticks a follower may take to connect and sync to the leader; 0 when not set (only a standalone server may leave it unset).</summary>
    public int InitLimit { get; private set; }

    /// <summary>Ticks a follower may lag behind the leader; 0 when not set (only a standalone server may leave it unset).</summary>
    public int SyncLimit { get; private set; }

    /// <summary>Full path of the snapshot directory (and of myid).</summary>
    public string DataDir { get; private set; } = "";

    /// <summary>Full path of the transaction log directory; <see cref="DataDir"/> unless dataLogDir is set.</summary>
    public string DataLogDir { get; private set; } = "";

    /// <summary>The port to serve clients on; null when not configured (clientPort unset or 0, and none on this server's server.N line).</summary>
    public int? ClientPort { get; private set; }

    /// <summary>The address to bind the client port to; null for all interfaces (as Apache does when clientPortAddress is unset).</summary>
    public string? ClientPortAddress { get; private set; }

    /// <summary>secureClientPort: clients speak TLS there (<see cref="ClientTls"/>), beside or instead of clientPort.</summary>
    public int? SecureClientPort { get; private set; }

    /// <summary>The client TLS settings; null when there is neither a secure client port nor port unification.</summary>
    public TlsSettings? ClientTls { get; private set; }

    /// <summary>
    /// SASL DIGEST-MD5 users (name to password) from the JAAS file's server section
    /// (java.security.auth.login.config, section zookeeper.sasl.serverconfig, default Server); null without one.
    /// </summary>
    public IReadOnlyDictionary<string, string>? SaslUsers { get; private set; }

    /// <summary>A SASL user that authenticates as super (zookeeper.superUser).</summary>
    public string? SaslSuperUser { get; private set; }

    /// <summary>sslQuorum: the quorum and election connections this server opens are TLS (<see cref="QuorumTls"/>), and its listeners take only TLS.</summary>
    public bool SslQuorum { get; private set; }

    /// <summary>portUnification: the quorum and election listeners take TLS and plain connections both (the rolling switch to TLS).</summary>
    public bool PortUnification { get; private set; }

    /// <summary>TLS between servers (ssl.quorum.*); null unless sslQuorum or portUnification is set.</summary>
    public TlsSettings? QuorumTls { get; private set; }

    /// <summary>The x509 and sasl schemes, when authProvider.N names their providers (Apache registers only those).</summary>
    public IReadOnlySet<string> AuthProviderSchemes { get; private set; } = new HashSet<string>();

    /// <summary>Schemes a client must have authenticated with before any request but auth and sasl (enforce.auth.*, sessionRequireClientSASLAuth); null when not enforced.</summary>
    public IReadOnlySet<string>? EnforcedAuthSchemes { get; private set; }

    /// <summary>allowSaslFailedClients: a client whose SASL authentication failed stays connected (unless SASL is required).</summary>
    public bool AllowSaslFailedClients { get; private set; }

    /// <summary>The AdminServer (admin.*): HTTP commands; null when admin.enableServer is false.</summary>
    public AdminSettings? Admin { get; private set; }

    /// <summary>SASL between servers (quorum.auth.enableSasl); null when it is off.</summary>
    public QuorumSaslSettings? QuorumSasl { get; private set; }

    /// <summary>client.portUnification: the plain client port also takes TLS clients, told apart by their first byte.</summary>
    public bool ClientPortUnification { get; private set; }

    public string? SecureClientPortAddress { get; private set; }

    /// <summary>clientPortListenBacklog; -1 for the platform default.</summary>
    public int ClientPortListenBacklog { get; private set; }

    /// <summary>Concurrent connections allowed from one client IP (maxClientCnxns, default 60); 0 for no limit.</summary>
    public int MaxClientCnxns { get; private set; }

    /// <summary>Concurrent client connections allowed in all (maxCnxns, default 0 = no limit).</summary>
    public int MaxCnxns { get; private set; }

    /// <summary>Smallest session timeout granted, in ms (default 2 ticks).</summary>
    public int MinSessionTimeout { get; private set; }

    /// <summary>Largest session timeout granted, in ms (default 20 ticks).</summary>
    public int MaxSessionTimeout { get; private set; }

    /// <summary>
    /// The four-letter words that are answered (4lw.commands.whitelist, "*" expanded to every known word). As in
    /// Apache, srvr is always in it (zkServer.sh status needs it), and isro too when read-only mode is enabled.
    /// </summary>
    public IReadOnlySet<string> FourLetterWordWhitelist { get; private set; } = new HashSet<string>();

    /// <summary>Snapshots (and the logs they need) that autopurge keeps; at least 3.</summary>
    public int AutopurgeSnapRetainCount { get; private set; }

    /// <summary>Hours between autopurge runs; 0 (the default) disables autopurge.</summary>
    public int AutopurgePurgeInterval { get; private set; }

    /// <summary>Committed txns every ensemble member keeps in memory to synchronize learners by DIFF (commitLogCount).</summary>
    public int CommitLogCount { get; private set; }

    /// <summary>
    /// A learner older than the txns in memory gets a DIFF read from the txn log when that is at most
    /// this fraction of the newest snapshot's size; negative: never from the log (snapshotSizeFactor, 0.33).
    /// </summary>
    public double SnapshotSizeFactor { get; private set; }

    /// <summary>Transactions between snapshots (snapCount, default 100000; at least 2).</summary>
    public int SnapCount { get; private set; }

    /// <summary>Bytes to preallocate per log file (the key, preAllocSize, is in KB; default 64 MB); 0 disables preallocation.</summary>
    public long PreAllocSize { get; private set; }

    /// <summary>Largest jute record accepted (jute.maxbuffer, default 0xfffff bytes).</summary>
    public int JuteMaxBuffer { get; private set; }

    /// <summary>Slack over <see cref="JuteMaxBuffer"/> allowed for records read from disk and peers (jute.maxbuffer.extrasize; default equal to it).</summary>
    public int JuteMaxBufferExtraSize { get; private set; }

    /// <summary>Requests in flight before the server stops reading from clients (globalOutstandingLimit, default 1000).</summary>
    public int GlobalOutstandingLimit { get; private set; }

    /// <summary>extendedTypesEnabled: TTL nodes (and a server id of at most 254).</summary>
    public bool ExtendedTypesEnabled { get; private set; }

    /// <summary>forceSync=yes|no (default yes): fsync the txn log before acknowledging.</summary>
    public bool ForceSync { get; private set; }

    /// <summary>DigestAuthenticationProvider.superDigest: "user:base64(sha1(user:password))" of the super user; null when unset.</summary>
    public string? SuperDigest { get; private set; }

    /// <summary>skipACL=yes turns all ACL checks off (default no).</summary>
    public bool SkipAcl { get; private set; }

    /// <summary>snapshot.trust.empty (default false): start from an empty dataDir even though txn logs exist.</summary>
    public bool SnapshotTrustEmpty { get; private set; }

    /// <summary>datadir.autocreate (default true): create missing data directories at start-up.</summary>
    public bool DataDirAutoCreate { get; private set; }

    /// <summary>readonlymode.enabled (a -D flag for Apache, a zoo.cfg key here too): serve read-only clients when cut off from the quorum.</summary>
    public bool ReadOnlyModeEnabled { get; private set; }

    /// <summary>multiAddress.enabled (or -Dzookeeper.multiAddress.enabled): server lines may list several addresses joined by '|'.</summary>
    public bool MultiAddressEnabled { get; private set; }

    /// <summary>localSessionsEnabled: on an ensemble member, new sessions are local to the server they connect to.</summary>
    public bool LocalSessionsEnabled { get; private set; }

    /// <summary>localSessionsUpgradingEnabled: a local session's first ephemeral create makes it global.</summary>
    public bool LocalSessionsUpgradingEnabled { get; private set; }

    /// <summary>znode.container.checkIntervalMs (default one minute).</summary>
    public int ContainerCheckIntervalMs { get; private set; }

    /// <summary>znode.container.maxPerMinute (default 10000).</summary>
    public int ContainerMaxPerMinute { get; private set; }

    /// <summary>znode.container.maxNeverUsedIntervalMs (default 0 = never delete a container that never had children).</summary>
    public long ContainerMaxNeverUsedIntervalMs { get; private set; }

    /// <summary>Every server.N line (from zoo.cfg or from its dynamicConfigFile), by id.</summary>
    public IReadOnlyDictionary<long, ServerSpec> Servers { get; private set; } = new SortedDictionary<long, ServerSpec>();

    /// <summary>This server's id, from DataDir/myid; read only when server.N lines are configured.</summary>
    public long? MyId { get; private set; }

    /// <summary>This server's role: from its server.N line, else participant (peerType only matters when it agrees).</summary>
    public ServerRole PeerType { get; private set; }

    /// <summary>
    /// Whether this server runs alone. As in Apache: unless standaloneEnabled=false, an ensemble needs at least two
    /// participants; a configuration with one server.N line runs standalone.
    /// </summary>
    public bool IsStandalone { get; private set; }

    /// <summary>reconfigEnabled (default false): the ensemble accepts reconfig and keeps dynamic configuration files.</summary>
    public bool ReconfigEnabled { get; private set; }

    /// <summary>
    /// observerMasterPort (default 0, off): a follower serves observers on this port of its quorum
    /// address, and an observer connects to this port of a voter rather than to the leader.
    /// </summary>
    public int ObserverMasterPort { get; private set; }

    /// <summary>connectToLearnerMasterLimit (default 0: initLimit): the ticks a learner keeps trying to connect to its leader or observer master.</summary>
    public int ConnectToLearnerMasterLimit { get; private set; }

    /// <summary>standaloneEnabled (default true).</summary>
    public bool StandaloneEnabled { get; private set; }

    /// <summary>quorumListenOnAllIPs (default false): bind quorum and election ports on all interfaces.</summary>
    public bool QuorumListenOnAllIPs { get; private set; }

    /// <summary>Full path of dynamicConfigFile, when the server.N lines come from one.</summary>
    public string? DynamicConfigFile { get; private set; }

    /// <summary>The version of the quorum configuration: the hex suffix of the dynamic file name, or the version key; 0 when none.</summary>
    public long QuorumConfigVersion { get; private set; }

    /// <summary>Unknown keys and everything else worth telling the operator at start-up, in file order.</summary>
    public IReadOnlyList<ConfigWarning> Warnings { get; private set; } = [];

    /// <summary>Every key with its value as written (after unescaping and trimming), in file order, for the conf and envi words.</summary>
    public IReadOnlyDictionary<string, string> Raw { get; private set; } = new Dictionary<string, string>();

    /// <summary>The Prometheus endpoint, when metricsProvider.className names Apache's PrometheusMetricsProvider.</summary>
    public MetricsSettings? Metrics { get; private set; }

    /// <summary>
    /// Creates dataDir and dataLogDir when missing, or with datadir.autocreate=false (as Apache) refuses
    /// to start without them: a missing directory is then an operator's mistake, not a fresh server.
    /// </summary>
    /// <exception cref="ConfigException">A directory is missing and may not be created.</exception>
    public void EnsureDataDirectories()
    {
        foreach (var directory in new[] { DataDir, DataLogDir }.Distinct())
        {
            if (Directory.Exists(directory))
            {
                continue;
            }

            if (!DataDirAutoCreate)
            {
                throw new ConfigException(SourceFile ?? EmbeddedSourceName, 0, "datadir.autocreate",
                    $"the data directory {directory} does not exist and automatic creation is off: create it, or set datadir.autocreate=true");
            }

            Directory.CreateDirectory(directory);
        }
    }

    /// <summary>What Apache would hold as system properties for this configuration (the sysp admin command).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> SystemProperties { get; private set; } = [];

    /// <summary>dataDir or dataLogDir lies under /tmp, /var/tmp or /dev/shm, where data does not survive a reboot: worth a start-up warning.</summary>
    public bool DataDirIsUnderTmp => IsUnderTmp(DataDir) || IsUnderTmp(DataLogDir);

    public bool IsFourLetterWordAllowed(string word) => FourLetterWordWhitelist.Contains(word);

    /// <summary>
    /// Reads a zoo.cfg. Relative paths in it are taken from the process's working directory, as Apache
    /// does. With <paramref name="environment"/>, the -D flags of SERVER_JVMFLAGS and JVMFLAGS count too.
    /// </summary>
    /// <exception cref="ConfigException">The file cannot be read, or something in it is wrong.</exception>
    public static ServerConfig Load(string path, Func<string, string?>? environment = null)
    {
        string text;
        try
        {
            if (Directory.Exists(path))
            {
                throw new ConfigException(path, 0, "", "is a directory, not a configuration file");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException(path, 0, "", "configuration file does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, "", $"cannot read the configuration file: {e.Message}", e);
        }

        var warnings = new List<ConfigWarning>();
        var entries = WithJvmFlags(PropertiesParser.Parse(text, path, warnings), environment, warnings);
        return Build(entries, path, Path.GetFullPath(path), Environment.CurrentDirectory, warnings);
    }

    private static List<ConfigEntry> WithJvmFlags(List<ConfigEntry> entries, Func<string, string?>? environment, List<ConfigWarning> warnings) =>
        environment is null ? entries : JvmFlags.Merge(JvmFlags.Read(environment, warnings), entries);

    /// <summary>Parses zoo.cfg text. <paramref name="sourceName"/> names it in messages; relative paths are taken from <paramref name="baseDirectory"/> (default: the working directory).</summary>
    /// <exception cref="ConfigException">Something in the text is wrong.</exception>
    public static ServerConfig Parse(string text, string sourceName, string? baseDirectory = null, Func<string, string?>? environment = null)
    {
        var warnings = new List<ConfigWarning>();
        var entries = WithJvmFlags(PropertiesParser.Parse(text, sourceName, warnings), environment, warnings);
        return Build(entries, sourceName, sourceName, baseDirectory ?? Environment.CurrentDirectory, warnings);
    }

    /// <summary>
    /// The configuration used when none is given: standalone on 127.0.0.1:2181, data in <c>workingDirectory/data</c>,
    /// tickTime 2000, every four-letter word answered, hourly autopurge keeping 3 snapshots.
    /// </summary>
    public static ServerConfig EmbeddedDefault(string workingDirectory, Func<string, string?>? environment = null)
    {
        var values = new (string Key, string Value)[]
        {
            ("tickTime", "2000"),
            ("dataDir", Path.Combine(Path.GetFullPath(workingDirectory), "data")),
            ("clientPort", "2181"),
            ("clientPortAddress", "127.0.0.1"),
            ("maxClientCnxns", "60"),
            ("4lw.commands.whitelist", "*"),
            ("autopurge.snapRetainCount", "3"),
            ("autopurge.purgeInterval", "1"),
        };
        var warnings = new List<ConfigWarning>();
        var entries = WithJvmFlags(values.Select((kv, i) => new ConfigEntry(kv.Key, kv.Value, EmbeddedSourceName, i + 1)).ToList(), environment, warnings);
        var config = Build(entries, EmbeddedSourceName, null, workingDirectory, warnings);
        return config;
    }

    private static bool IsUnderTmp(string path)
    {
        if (path.Length == 0)
        {
            return false;
        }

        var full = Path.GetFullPath(path);
        return new[] { "/tmp", "/var/tmp", "/dev/shm" }.Any(tmp =>
            full == tmp || full.StartsWith(tmp + "/", StringComparison.Ordinal));
    }
}
