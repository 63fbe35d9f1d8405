using System.Collections.Frozen;

namespace SharpKeeper.Server.Config;

/// <summary>
/// Every configuration key SharpKeeper knows, in one table: type, default, range, whether Apache
/// also reads it as a "zookeeper." system property, and what reads it — or that it is ignored, and
/// why. <see cref="ConfigValues"/> parses from it (a key the parser asks for must be here, with the
/// kind it is read as), unknown keys are suggested from it ("did you mean"), and ignored keys are
/// warned about with their reason.
/// </summary>
public static class ConfigKeyTable
{
    private const string Tls = "TLS (Network/ClientTls, QuorumTls, AdminServer HTTPS)";

    public static readonly IReadOnlyList<ConfigKey> All = Build();

    private static readonly FrozenDictionary<string, ConfigKey> ByName = All.ToFrozenDictionary(k => k.Name, StringComparer.Ordinal);

    public static ConfigKey? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>Keys whose name is a pattern (server.N, group.N, weight.N, authProvider.N): read by their own rules, not from the table.</summary>
    public static bool IsPatternKey(string name) =>
        name.StartsWith("server.", StringComparison.Ordinal) || name.StartsWith("group", StringComparison.Ordinal)
        || name.StartsWith("weight", StringComparison.Ordinal) || name.StartsWith("authProvider.", StringComparison.Ordinal)
        || name.StartsWith(ConfigKeys.SystemPropertyPrefix + "authProvider.", StringComparison.Ordinal);

    /// <summary>Families of keys ignored by prefix (the many TLS tuning keys, metrics provider settings), with why.</summary>
    public static readonly IReadOnlyList<(string Prefix, string Because)> IgnoredFamilies =
    [
        ("ssl.quorum.", "a TLS setting of Java's SSL engine SharpKeeper does not have"),
        ("ssl.", "a TLS setting of Java's SSL engine SharpKeeper does not have"),
        ("metricsProvider.", "a setting of a Java metrics provider SharpKeeper does not load"),
    ];

    /// <summary>The ignored key or family a name falls in, and why; null for a key that is read or unknown.</summary>
    public static string? IgnoredBecause(string name)
    {
        if (Find(name) is IgnoredKey ignored)
        {
            return ignored.Because;
        }

        if (name.StartsWith(ConfigKeys.SystemPropertyPrefix, StringComparison.Ordinal) && Find(name[ConfigKeys.SystemPropertyPrefix.Length..]) is IgnoredKey prefixed)
        {
            return prefixed.Because;
        }

        var bare = name.StartsWith(ConfigKeys.SystemPropertyPrefix, StringComparison.Ordinal) ? name[ConfigKeys.SystemPropertyPrefix.Length..] : name;
        foreach (var (prefix, because) in IgnoredFamilies)
        {
            if (bare.StartsWith(prefix, StringComparison.Ordinal) && bare.Length > prefix.Length && Find(bare) is null)
            {
                return because;
            }
        }

        return null;
    }

    private static List<ConfigKey> Build()
    {
        var keys = new List<ConfigKey>
        {
            // Where data lives and who this server is.
            new TextKey("dataDir", null, "FileStore (snapshots, myid, acceptedEpoch, currentEpoch); required"),
            new TextKey("dataLogDir", null, "FileStore and FileTxnLog (txn log files); default: dataDir"),
            new BoolKey("datadir.autocreate", true, "ServerConfig.EnsureDataDirectories") { SystemProperty = true },
            new BoolKey("snapshot.trust.empty", false, "FileStore.Recover (a log without a snapshot)") { SystemProperty = true },
            new TextKey("peerType", "participant", "the server's role (participant or observer)"),
            new TextKey("version", null, "the quorum configuration's version (/zookeeper/config, NEWLEADER)"),
            new TextKey("dynamicConfigFile", null, "the server lines, read from that file"),

            // Client ports.
            new IntKey("clientPort", 0, "Network/ClientListener", 0, 65535),
            new TextKey("clientPortAddress", null, "Network/ClientListener (the address to bind)"),
            new IntKey("secureClientPort", 0, "Network/ClientListener (TLS)", 0, 65535),
            new TextKey("secureClientPortAddress", null, "Network/ClientListener (TLS; the address to bind)"),
            new IntKey("clientPortListenBacklog", -1, "Network/ClientListener (listen backlog; -1 for the default)", -1),
            new IntKey("maxClientCnxns", ServerConfig.DefaultMaxClientCnxns, "Network/ClientListener (connections per client address)", 0),
            new IntKey("maxCnxns", 0, "Network/ClientListener (connections in all; 0 for no limit)", 0) { SystemProperty = true },
            new BoolKey("client.portUnification", false, "Network/ClientListener (TLS and plain on clientPort)") { SystemProperty = true },
            new BoolKey("client.certReload", false, "Network/ClientTls (reload changed certificates)") { SystemProperty = true },
            new TextKey("ssl.authProvider", "x509", "Auth (the scheme TLS clients are authenticated as)") { SystemProperty = true },
            new TextKey("X509AuthenticationProvider.superUser", null, "Auth (the x509 super user)") { SystemProperty = true },

            // Time.
            new IntKey("tickTime", ServerConfig.DefaultTickTime, "ServerCore ticks, session timeouts, initLimit and syncLimit", 1),
            new IntKey("initLimit", 0, "Quorum/LeaderSync and LearnerSync (ticks for each discovery and sync step)", 0),
            new IntKey("syncLimit", 0, "Quorum (ticks a learner may stay silent, or the leader)", 0),
            new IntKey("minSessionTimeout", null, "ServerCore (session timeouts are clamped to it; default 2 ticks)", -1),
            new IntKey("maxSessionTimeout", null, "ServerCore (session timeouts are clamped to it; default 20 ticks)", -1),
            new IntKey("electionAlg", 3, "Quorum/Election (only 3, fast leader election)"),

            // Requests, sessions, nodes.
            new IntKey("globalOutstandingLimit", ServerConfig.DefaultGlobalOutstandingLimit, "Processing/OutstandingGate", 1) { SystemProperty = true },
            new IntKey("jute.maxbuffer", ServerConfig.DefaultJuteMaxBuffer, "Network and Quorum (largest packet)", 1),
            new IntKey("jute.maxbuffer.extrasize", null, "Quorum (packet headroom; default jute.maxbuffer)", 0) { SystemProperty = true },
            new BoolKey("extendedTypesEnabled", false, "Processing (TTL nodes)") { SystemProperty = true },
            new YesNoKey("skipACL", false, "Processing/RequestPreparer and ReadRequestHandler (no ACL checks)") { SystemProperty = true },
            new IntKey("znode.container.checkIntervalMs", 60000, "Processing/Housekeeping (container and TTL sweeps)", 1),
            new IntKey("znode.container.maxPerMinute", 10000, "Processing/Housekeeping (deletions per sweep)", 0),
            new LongKey("znode.container.maxNeverUsedIntervalMs", 0, "Processing/Housekeeping (containers that never had a child)", 0),
            new TextKey("4lw.commands.whitelist", null, "Admin/FourLetterWordHandler") { SystemProperty = true },

            // Disk.
            new YesNoKey("forceSync", true, "Persistence/FileTxnLog (fsync before acknowledging)") { SystemProperty = true },
            new IntKey("snapCount", ServerConfig.DefaultSnapCount, "Processing/Housekeeping (snapshot cadence)") { SystemProperty = true },
            new LongKey("preAllocSize", ServerConfig.DefaultPreAllocSizeKb, "Persistence/FileTxnLog (KiB preallocated per log file)", 0, long.MaxValue / 1024) { SystemProperty = true },
            new IntKey("autopurge.snapRetainCount", ServerConfig.MinSnapRetainCount, "Persistence/Purger (snapshots kept; at least 3)"),
            new IntKey("autopurge.purgeInterval", 0, "Persistence/Purger (hours between purges; 0: never)", 0),
            new IntKey("commitLogCount", ServerConfig.DefaultCommitLogCount, "Processing/CommittedLog (txns kept in memory for DIFF)") { SystemProperty = true },
            new DecimalKey("snapshotSizeFactor", ServerConfig.DefaultSnapshotSizeFactor, "Quorum/Leader (DIFF from the txn log up to this share of the snapshot)", 1) { SystemProperty = true },

            // Ensemble.
            new BoolKey("standaloneEnabled", true, "ServerConfig (one server line runs standalone)"),
            new BoolKey("quorumListenOnAllIPs", false, "Quorum (bind the quorum and election ports on every address)"),
            new BoolKey("sslQuorum", false, "Quorum/QuorumTransport (TLS between servers)"),
            new BoolKey("portUnification", false, "Quorum/QuorumTransport (TLS and plain on the quorum ports)"),
            new BoolKey("sslQuorumReloadCertFiles", false, "Network/QuorumTls (reload changed certificates)"),
            new BoolKey("quorum.auth.enableSasl", false, "Quorum/QuorumSasl"),
            new BoolKey("quorum.auth.serverRequireSasl", false, "Quorum/QuorumSasl"),
            new BoolKey("quorum.auth.learnerRequireSasl", false, "Quorum/QuorumSasl"),
            new TextKey("quorum.auth.learner.saslLoginContext", "QuorumLearner", "Quorum/QuorumSasl (JAAS section of a learner)"),
            new TextKey("quorum.auth.server.saslLoginContext", "QuorumServer", "Quorum/QuorumSasl (JAAS section of the leader)"),
            new TextKey("quorum.auth.kerberos.servicePrincipal", null, "Quorum/QuorumSasl (read and checked; Kerberos is not supported)"),

            // Client authentication.
            new TextKey("java.security.auth.login.config", null, "Auth (the JAAS file of SASL users)"),
            new TextKey("sasl.serverconfig", "Server", "Auth (the JAAS section for clients)") { SystemProperty = true },
            new TextKey("superUser", null, "Auth (the SASL super user)") { SystemProperty = true },
            new BoolKey("sessionRequireClientSASLAuth", false, "Processing (sessions need SASL)") { SystemProperty = true },
            new BoolKey("enforce.auth.enabled", false, "Processing (sessions need one of enforce.auth.schemes)") { SystemProperty = true },
            new TextKey("enforce.auth.schemes", null, "Processing (the schemes enforce.auth.enabled needs)") { SystemProperty = true },
            new BoolKey("allowSaslFailedClients", false, "Processing (clients whose SASL failed stay connected)") { SystemProperty = true },
            new TextKey("DigestAuthenticationProvider.superDigest", null, "Auth (the digest super user)") { SystemProperty = true },
            new TextKey("DigestAuthenticationProvider.digestAlg", "SHA1", "Auth (only SHA1; others are warned about)") { SystemProperty = true },

            // AdminServer and metrics.
            new BoolKey("admin.enableServer", true, "Admin/AdminServer") { SystemProperty = true },
            new TextKey("admin.commandURL", "/commands", "Admin/AdminServer") { SystemProperty = true },
            new TextKey("admin.serverAddress", "0.0.0.0", "Admin/AdminServer") { SystemProperty = true },
            new IntKey("admin.serverPort", 8080, "Admin/AdminServer", 0, 65535) { SystemProperty = true },
            new IntKey("admin.idleTimeout", 30000, "Admin/AdminServer (ms)", 1) { SystemProperty = true },
            new BoolKey("admin.snapshot.enabled", true, "Admin/SnapshotCommands") { SystemProperty = true },
            new BoolKey("admin.restore.enabled", true, "Admin/SnapshotCommands") { SystemProperty = true },
            new IntKey("admin.rateLimiterIntervalInMS", 300_000, "Admin/SnapshotCommands (ms between snapshots or restores)", 0) { SystemProperty = true },
            new BoolKey("admin.forceHttps", false, "Admin/AdminTls") { SystemProperty = true },
            new BoolKey("admin.portUnification", false, "Admin/AdminTls") { SystemProperty = true },
            new BoolKey("admin.needClientAuth", false, "Admin/AdminTls") { SystemProperty = true },
            new BoolKey("admin.console.enabled", true, "Admin/Console") { SystemProperty = true },
            new TextKey("metricsProvider.className", null, "Metrics (the Prometheus provider's class turns the exporter on)"),
            new TextKey("metricsProvider.httpHost", "0.0.0.0", "Metrics/MetricsHttpServer"),
            new IntKey("metricsProvider.httpPort", 7000, "Metrics/MetricsHttpServer", 0, 65535),
            new BoolKey("metricsProvider.exportJvmInfo", true, "Metrics/RuntimeSeries"),
            new IntKey("metricsProvider.numWorkerThreads", 1, "read and checked; summaries are recorded without a pool"),
            new IntKey("metricsProvider.maxQueueSize", 1_000_000, "read and checked; summaries are recorded without a queue", 1),
            new IntKey("metricsProvider.workerShutdownTimeoutMs", 1000, "read and checked; summaries are recorded without a pool", 0),

            new BoolKey("readonlymode.enabled", false, "Quorum/QuorumPeer (serve read-only clients while looking; -Dreadonlymode.enabled in SERVER_JVMFLAGS too)"),
            new BoolKey("localSessionsEnabled", false, "Processing/ClientHandshake (new sessions local on ensemble members)"),
            new BoolKey("localSessionsUpgradingEnabled", false, "Processing/ServerCore (a local session's first ephemeral makes it global)"),
            new BoolKey("reconfigEnabled", false, "Processing/RequestPreparer, Quorum/Reconfig (reconfig, dynamic configuration files)"),
            new IntKey("observerMasterPort", 0, "Quorum/ObserverMaster (followers serve observers on this port; observers connect to a voter's)", 0, 65535),
            new IntKey("connectToLearnerMasterLimit", 0, "Quorum/Follower (ticks a learner tries to connect; 0: initLimit)", 0),

            // Read, and warned about when set to what SharpKeeper does not do.
            new BoolKey("digest.enabled", true, "warned about: no data tree digest is kept") { SystemProperty = true },
            new BoolKey("syncEnabled", true, "warned about when false: learners always log to disk"),
            new BoolKey("multiAddress.enabled", false, "Config/ServerLine, Quorum (several addresses per server, the version-2 election greeting)") { SystemProperty = true },
                        new LongKey("snapSizeLimitInKb", 4L * 1024 * 1024, "warned about: snapshots follow snapCount") { SystemProperty = true },
            new LongKey("txnLogSizeLimitInKb", -1, "warned about: log files roll with snapshots") { SystemProperty = true },
            new TextKey("snapshot.compression.method", null, "warned about: snapshots are uncompressed") { SystemProperty = true },
        };

        foreach (var prefix in new[] { "ssl", "ssl.quorum" })
        {
            foreach (var store in new[] { "keyStore", "trustStore" })
            {
                keys.Add(new TextKey($"{prefix}.{store}.location", null, Tls) { SystemProperty = true });
                keys.Add(new TextKey($"{prefix}.{store}.password", null, Tls) { SystemProperty = true });
                keys.Add(new TextKey($"{prefix}.{store}.passwordPath", null, Tls) { SystemProperty = true });
                keys.Add(new TextKey($"{prefix}.{store}.type", null, Tls) { SystemProperty = true });
            }

            keys.Add(new TextKey($"{prefix}.clientAuth", null, Tls) { SystemProperty = true });
            keys.Add(new TextKey($"{prefix}.enabledProtocols", null, Tls) { SystemProperty = true });
            keys.Add(new TextKey($"{prefix}.protocol", null, Tls) { SystemProperty = true });
            keys.Add(new TextKey($"{prefix}.ciphersuites", null, Tls) { SystemProperty = true });
            keys.Add(new BoolKey($"{prefix}.hostnameVerification", true, Tls) { SystemProperty = true });
            keys.Add(new BoolKey($"{prefix}.crl", false, Tls) { SystemProperty = true });
            keys.Add(new BoolKey($"{prefix}.ocsp", false, Tls) { SystemProperty = true });
        }

        const string JavaInternals = "tunes a part of Apache ZooKeeper's Java implementation that SharpKeeper does not have";
        foreach (var name in new[]
        {
            "quorum.cnxn.threads.size", "oraclePath", "admin.httpVersion", "audit.enable", "audit.impl.class",
            "bitHashCacheSize", "clientTcpKeepAlive", "closeSessionTxn.enabled", "cnxTimeout",
            "commitProcessor.maxCommitBatchSize", "commitProcessor.maxReadBatchSize", "commitProcessor.numWorkerThreads",
            "commitProcessor.shutdownTimeout", "connection_throttle_decrease_ratio", "connection_throttle_drop_decrease",
            "connection_throttle_drop_increase", "connection_throttle_fill_count", "connection_throttle_fill_time",
            "connection_throttle_freeze_time", "connection_throttle_global_session_weight",
            "connection_throttle_local_session_weight", "connection_throttle_renew_session_weight",
            "connection_throttle_tokens", "connection_throttle_weight_enabled", "db.autocreate",
            "DigestAuthenticationProvider.enabled", "electionPortBindRetry", "emulate353TTLNodes", "enableEagerACLCheck",
            "enforceQuota", "ensembleAuthName", "fastleader.maxNotificationInterval",
            "fastleader.minNotificationInterval", "fips-mode", "flushDelay", "follower.skipLearnerRequestToNextProcessor",
            "forceSnapshotSync", "forward_learner_requests_to_commit_processor_disabled", "fsync.warningthresholdms",
            "intBufferStartingSizeBytes", "jmx.log4j.disable", "jmx.log4j.mbean",
            "largeRequestMaxBytes", "largeRequestThreshold", "leader.ackLoggingFrequency", "leader.closeSocketAsync",
            "leader.maxConcurrentDiffSyncs", "leader.maxConcurrentSnapSyncs", "leader.maxTimeToWaitForEpoch",
            "leaderConnectDelayDuringRetryMs", "leaderServes", "learner.asyncSending", "learner.closeSocketAsync",
            "letAnySaslUserDoX", "maxBatchSize", "maxGetChildrenResponseCacheSize", "maxInProcessingDeadWatchers",
            "maxResponseCacheSize", "maxWriteQueuePollTime", "messageTracker.BufferSize", "messageTracker.Enabled",
            "netty.advancedFlowControl.enabled", "netty.server.earlyDropSecureConnectionHandshakes",
            "netty.server.outstandingHandshake.limit", "nio.directBufferBytes", "nio.numSelectorThreads",
            "nio.numWorkerThreads", "nio.sessionlessCnxnTimeout", "nio.shutdownTimeout", "observer.election.DelayMs",
            "observer.reconnectDelayMs", "observer.syncEnabled", "observerMaster.sizeLimit", "pathStats.delay",
            "pathStats.enabled", "pathStats.initialDelay", "pathStats.maxDepth", "pathStats.sampleRate",
            "pathStats.slotCapacity", "pathStats.slotDuration", "pathStats.topPathMax", "quorumCnxnTimeoutMs",
            "request_stale_connection_check", "request_stale_latency_check", "request_throttle_drop_stale",
            "request_throttle_max_requests", "request_throttle_stall_time", "request_throttler.shutdownTimeout",
            "SASLAuthenticationProvider.superPassword", "serverCnxnFactory", "tcpKeepAlive",
            "throttled_op_wait_time", "watchManagerName", "watcherCleanIntervalInSeconds", "watcherCleanThreadsNum",
            "watcherCleanThreshold",
        })
        {
            keys.Add(new IgnoredKey(name, JavaInternals));
        }

        foreach (var name in new[] { "jvm.pause.info-threshold.ms", "jvm.pause.warn-threshold.ms", "jvm.pause.sleep.time.ms", "jvm.pause.monitor" })
        {
            keys.Add(new IgnoredKey(name, "there is no JVM to watch (mntr reports the runtime's GC pauses)"));
        }

        foreach (var name in new[]
        {
            "kerberos.canonicalizeHostNames", "kerberos.minReLoginTimeMs", "kerberos.removeHostFromPrincipal",
            "kerberos.removeRealmFromPrincipal", "kinit", "requireKerberosConfig", "security.auth_to_local",
        })
        {
            keys.Add(new IgnoredKey(name, "Kerberos is not supported (SASL DIGEST-MD5 is)"));
        }

        foreach (var name in new[] { "multiAddress.reachabilityCheckTimeoutMs", "multiAddress.reachabilityCheckEnabled" })
        {
            keys.Add(new IgnoredKey(name, "each address is tried in turn by a TCP connect, which is the reachability check"));
        }

        return keys;
    }
}
