using System.Collections.Frozen;

namespace SharpKeeper.Server.Config;

/// <summary>
/// The keys Apache ZooKeeper 3.8 understands that SharpKeeper reads no value from, so that they are accepted
/// without an "unknown key" warning. (The keys SharpKeeper does read are listed where they are read, in ServerConfig.)
/// </summary>
internal static class ConfigKeys
{
    /// <summary>
    /// QuorumPeerConfig passes every key it does not parse itself on as the system property "zookeeper." + key;
    /// a key written with that prefix already is accepted too when Apache reads the prefixed property.
    /// </summary>
    public const string SystemPropertyPrefix = "zookeeper.";

    /// <summary>Every key QuorumPeerConfig parses itself; any other zoo.cfg key becomes a "zookeeper." system property.</summary>
    private static readonly FrozenSet<string> QuorumPeerConfigKeys = FrozenSet.Create(StringComparer.Ordinal,
    [
        "dataDir", "dataLogDir", "clientPort", "localSessionsEnabled", "localSessionsUpgradingEnabled", "clientPortAddress",
        "secureClientPort", "secureClientPortAddress", "observerMasterPort", "clientPortListenBacklog", "tickTime",
        "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout", "initLimit", "syncLimit", "connectToLearnerMasterLimit",
        "electionAlg", "quorumListenOnAllIPs", "peerType", "syncEnabled", "dynamicConfigFile", "autopurge.snapRetainCount",
        "autopurge.purgeInterval", "standaloneEnabled", "reconfigEnabled", "sslQuorum", "portUnification",
        "sslQuorumReloadCertFiles", "quorum.auth.enableSasl", "quorum.auth.serverRequireSasl", "quorum.auth.learnerRequireSasl",
        "quorum.auth.learner.saslLoginContext", "quorum.auth.server.saslLoginContext", "quorum.auth.kerberos.servicePrincipal",
        "quorum.cnxn.threads.size", "jvm.pause.info-threshold.ms", "jvm.pause.warn-threshold.ms", "jvm.pause.sleep.time.ms",
        "jvm.pause.monitor", "multiAddress.enabled", "multiAddress.reachabilityCheckTimeoutMs",
        "multiAddress.reachabilityCheckEnabled", "oraclePath",
    ]);

    /// <summary>Whether QuorumPeerConfig reads the key itself rather than passing it on as a system property.</summary>
    public static bool IsQuorumPeerConfigKey(string key) =>
        QuorumPeerConfigKeys.Contains(key) || key.StartsWith("metricsProvider.", StringComparison.Ordinal)
        || key.StartsWith("server.", StringComparison.Ordinal) || key.StartsWith("group", StringComparison.Ordinal)
        || key.StartsWith("weight", StringComparison.Ordinal);

    /// <summary>Keys QuorumPeerConfig parses itself (so never with the prefix) that SharpKeeper ignores.</summary>
    public static readonly FrozenSet<string> IgnoredConfigKeys = FrozenSet.Create(StringComparer.Ordinal,
    [
        "sslQuorumReloadCertFiles", "quorum.auth.learner.saslLoginContext", "quorum.auth.server.saslLoginContext",
        "quorum.auth.kerberos.servicePrincipal", "quorum.cnxn.threads.size", "jvm.pause.info-threshold.ms",
        "jvm.pause.warn-threshold.ms", "jvm.pause.sleep.time.ms", "jvm.pause.monitor",
        "multiAddress.reachabilityCheckTimeoutMs", "multiAddress.reachabilityCheckEnabled", "oraclePath",
    ]);

    /// <summary>Keys Apache reads as "zookeeper." system properties that SharpKeeper ignores (tuning of Java internals, mostly).</summary>
    public static readonly FrozenSet<string> IgnoredSystemProperties = FrozenSet.Create(StringComparer.Ordinal,
    [
        "admin.httpVersion", "audit.enable", "audit.impl.class",
        "bitHashCacheSize", "clientTcpKeepAlive", "closeSessionTxn.enabled", "cnxTimeout",
        "commitProcessor.maxCommitBatchSize", "commitProcessor.maxReadBatchSize", "commitProcessor.numWorkerThreads",
        "commitProcessor.shutdownTimeout", "connection_throttle_decrease_ratio", "connection_throttle_drop_decrease",
        "connection_throttle_drop_increase", "connection_throttle_fill_count", "connection_throttle_fill_time",
        "connection_throttle_freeze_time", "connection_throttle_global_session_weight",
        "connection_throttle_local_session_weight", "connection_throttle_renew_session_weight",
        "connection_throttle_tokens", "connection_throttle_weight_enabled", "db.autocreate",
        "DigestAuthenticationProvider.enabled", "electionPortBindRetry", "emulate353TTLNodes", "enableEagerACLCheck",
        "enforce.auth.schemes", "enforceQuota", "ensembleAuthName", "fastleader.maxNotificationInterval",
        "fastleader.minNotificationInterval", "fips-mode", "flushDelay", "follower.skipLearnerRequestToNextProcessor",
        "forceSnapshotSync", "forward_learner_requests_to_commit_processor_disabled", "fsync.warningthresholdms",
        "intBufferStartingSizeBytes", "jmx.log4j.disable", "jmx.log4j.mbean", "kerberos.canonicalizeHostNames",
        "kerberos.minReLoginTimeMs", "kerberos.removeHostFromPrincipal", "kerberos.removeRealmFromPrincipal", "kinit",
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
        "requireKerberosConfig", "SASLAuthenticationProvider.superPassword", "sasl.serverconfig",
        "security.auth_to_local", "serverCnxnFactory", "superUser", "tcpKeepAlive",
        "throttled_op_wait_time", "watchManagerName", "watcherCleanIntervalInSeconds", "watcherCleanThreadsNum",
        "watcherCleanThreshold",
    ]);

    /// <summary>Families of keys accepted by prefix: metrics provider settings and the many TLS keys.</summary>
    private static readonly string[] IgnoredPrefixes = ["metricsProvider.", "ssl.", "ssl.quorum."];

    /// <summary>The four-letter words Apache ZooKeeper 3.8 knows; "*" in 4lw.commands.whitelist stands for all of them.</summary>
    public static readonly FrozenSet<string> FourLetterWords = FrozenSet.Create(StringComparer.Ordinal,
    [
        "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr",
        "stat", "stmk", "wchc", "wchp", "wchs",
    ]);

    public static bool IsIgnored(string key)
    {
        if (IgnoredConfigKeys.Contains(key) || IsIgnoredSystemProperty(key))
        {
            return true;
        }

        return key.StartsWith(SystemPropertyPrefix, StringComparison.Ordinal) && IsIgnoredSystemProperty(key[SystemPropertyPrefix.Length..]);
    }

    public static IEnumerable<string> AllIgnored => IgnoredConfigKeys.Concat(IgnoredSystemProperties);

    private static bool IsIgnoredSystemProperty(string key) =>
        IgnoredSystemProperties.Contains(key) || IgnoredPrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.Ordinal) && key.Length > prefix.Length);
}
