using System.Collections.Frozen;

namespace SharpKeeper.Server.Config;

/// <summary>
/// Facts about Apache ZooKeeper's own handling of keys: which ones QuorumPeerConfig parses itself
/// (the rest become "zookeeper." system properties), and the four-letter words. Every key
/// SharpKeeper reads or ignores is declared in <see cref="ConfigKeyTable"/>.
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

    /// <summary>The four-letter words Apache ZooKeeper 3.8 knows; "*" in 4lw.commands.whitelist stands for all of them.</summary>
    public static readonly FrozenSet<string> FourLetterWords = FrozenSet.Create(StringComparer.Ordinal,
    [
        "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr",
        "stat", "stmk", "wchc", "wchp", "wchs",
    ]);
}
