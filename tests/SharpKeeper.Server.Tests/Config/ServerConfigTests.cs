using System.Security.Cryptography;
using System.Text;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Config;

public sealed class ServerConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Parses with DATADIR standing for the temp directory; relative paths are taken from it too.</summary>
    private ServerConfig Parse(string text) =>
        ServerConfig.Parse(text.Replace("DATADIR", _dir, StringComparison.Ordinal), "zoo.cfg", _dir);

    private static void AssertError(ConfigException e, int line, string key)
    {
        Assert.Equal("zoo.cfg", e.File);
        Assert.Equal(line, e.Line);
        Assert.Equal(key, e.Key);
        Assert.StartsWith(line > 0 ? $"zoo.cfg:{line}: {key}: " : $"zoo.cfg: {key}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultsFollowApache()
    {
        var config = Parse("dataDir=DATADIR\n");
        Assert.Equal("zoo.cfg", config.SourceFile);
        Assert.Equal(3000, config.TickTime);
        Assert.Equal(6000, config.MinSessionTimeout);
        Assert.Equal(60000, config.MaxSessionTimeout);
        Assert.Equal((0, 0), (config.InitLimit, config.SyncLimit));
        Assert.Equal(_dir, config.DataDir);
        Assert.Equal(_dir, config.DataLogDir);
        Assert.Null(config.ClientPort);
        Assert.Null(config.ClientPortAddress);
        Assert.Null(config.SecureClientPort);
        Assert.Equal(-1, config.ClientPortListenBacklog);
        Assert.Equal(60, config.MaxClientCnxns);
        Assert.Equal(0, config.MaxCnxns);
        Assert.Equal(3, config.AutopurgeSnapRetainCount);
        Assert.Equal(0, config.AutopurgePurgeInterval);
        Assert.Equal(100000, config.SnapCount);
        Assert.Equal(64L * 1024 * 1024, config.PreAllocSize);
        Assert.Equal(0xFFFFF, config.JuteMaxBuffer);
        Assert.Equal(0xFFFFF, config.JuteMaxBufferExtraSize);
        Assert.Equal(1000, config.GlobalOutstandingLimit);
        Assert.False(config.ExtendedTypesEnabled);
        Assert.True(config.ForceSync);
        Assert.Null(config.SuperDigest);
        Assert.False(config.SkipAcl);
        Assert.False(config.SnapshotTrustEmpty);
        Assert.True(config.DataDirAutoCreate);
        Assert.False(config.ReadOnlyModeEnabled);
        Assert.Equal((60000, 10000, 0L), (config.ContainerCheckIntervalMs, config.ContainerMaxPerMinute, config.ContainerMaxNeverUsedIntervalMs));
        Assert.Equal(["srvr"], config.FourLetterWordWhitelist);
        Assert.True(config.IsFourLetterWordAllowed("srvr"));
        Assert.False(config.IsFourLetterWordAllowed("mntr"));
        Assert.True(config.IsStandalone);
        Assert.True(config.StandaloneEnabled);
        Assert.Empty(config.Servers);
        Assert.Null(config.MyId);
        Assert.Equal(ServerRole.Participant, config.PeerType);
        Assert.Null(config.DynamicConfigFile);
        Assert.Equal(0, config.QuorumConfigVersion);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void EveryStandaloneKeyIsRead()
    {
        var config = Parse("""
            # A full standalone configuration
            tickTime = 1000
            dataDir=DATADIR
            dataLogDir: DATADIR/logs
            clientPort 2999
            clientPortAddress=127.0.0.1
            clientPortListenBacklog=128
            maxClientCnxns=5
            maxCnxns=500
            minSessionTimeout=3000
            maxSessionTimeout=9000
            4lw.commands.whitelist=stat, ruok,mntr
            autopurge.snapRetainCount=5
            autopurge.purgeInterval=2
            snapCount=50
            snapSizeLimitInKb=1024
            txnLogSizeLimitInKb=2048
            preAllocSize=1024
            jute.maxbuffer=2048
            jute.maxbuffer.extrasize=512
            globalOutstandingLimit=77
            extendedTypesEnabled=true
            forceSync=no
            DigestAuthenticationProvider.superDigest=super:abc
            digest.enabled=false
            snapshot.trust.empty=true
            datadir.autocreate=false
            readonlymode.enabled=true
            localSessionsEnabled=true
            localSessionsUpgradingEnabled=true
            znode.container.checkIntervalMs=500
            znode.container.maxPerMinute=20
            znode.container.maxNeverUsedIntervalMs=1000
            """);
        Assert.Equal(1000, config.TickTime);
        Assert.Equal(Path.Combine(_dir, "logs"), config.DataLogDir);
        Assert.Equal((2999, "127.0.0.1"), (config.ClientPort, config.ClientPortAddress));
        Assert.Equal(128, config.ClientPortListenBacklog);
        Assert.Equal((5, 500), (config.MaxClientCnxns, config.MaxCnxns));
        Assert.Equal((3000, 9000), (config.MinSessionTimeout, config.MaxSessionTimeout));
        Assert.True(config.IsFourLetterWordAllowed("mntr"));
        Assert.False(config.IsFourLetterWordAllowed("conf"));
        Assert.Equal(["isro", "mntr", "ruok", "srvr", "stat"], config.FourLetterWordWhitelist.Order());
        Assert.Equal((5, 2, 50), (config.AutopurgeSnapRetainCount, config.AutopurgePurgeInterval, config.SnapCount));
        Assert.Equal(1024L * 1024, config.PreAllocSize);
        Assert.Equal((2048, 512, 77), (config.JuteMaxBuffer, config.JuteMaxBufferExtraSize, config.GlobalOutstandingLimit));
        Assert.True(config.ExtendedTypesEnabled);
        Assert.False(config.ForceSync);
        Assert.Equal("super:abc", config.SuperDigest);
        Assert.True(config.SnapshotTrustEmpty);
        Assert.False(config.DataDirAutoCreate);
        Assert.True(config.ReadOnlyModeEnabled);
        Assert.True(config.LocalSessionsEnabled && config.LocalSessionsUpgradingEnabled);
        Assert.Equal((500, 20, 1000L), (config.ContainerCheckIntervalMs, config.ContainerMaxPerMinute, config.ContainerMaxNeverUsedIntervalMs));

        // Read, and the features SharpKeeper lacks said to be ignored; "abc" can never be a SHA1 digest.
        Assert.Equal(
            ["snapSizeLimitInKb", "txnLogSizeLimitInKb", "DigestAuthenticationProvider.superDigest"],
            config.Warnings.Select(w => w.Key));
    }

    [Fact]
    public void RawHasEveryKeyInFileOrder()
    {
        var config = Parse("tickTime=2000\ndataDir=DATADIR\nclientPort=2181\nsomething.unknown=x\ntickTime=3000\n");
        Assert.Equal(["tickTime", "dataDir", "clientPort", "something.unknown"], config.Raw.Keys);
        Assert.Equal("3000", config.Raw["tickTime"]);
        Assert.Equal(3000, config.TickTime);
    }

    [Fact]
    public void SystemPropertyKeysMayCarryTheZookeeperPrefix()
    {
        var config = Parse("""
            dataDir=DATADIR
            zookeeper.snapCount=500
            zookeeper.forceSync=no
            zookeeper.preAllocSize=16
            zookeeper.globalOutstandingLimit=10
            zookeeper.extendedTypesEnabled=true
            zookeeper.4lw.commands.whitelist=*
            zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
            zookeeper.skipACL=no
            """);
        Assert.Equal(500, config.SnapCount);
        Assert.False(config.ForceSync);
        Assert.Equal(16L * 1024, config.PreAllocSize);
        Assert.Equal(10, config.GlobalOutstandingLimit);
        Assert.True(config.ExtendedTypesEnabled);
        Assert.True(config.IsFourLetterWordAllowed("wchp"));
        Assert.Equal("super:D/InIHSb7yEEbrWz8b9l71RjZJU=", config.SuperDigest);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void BothFormsOfAKeyMustAgree()
    {
        Assert.Equal(7, Parse("dataDir=DATADIR\nsnapCount=7\nzookeeper.snapCount=7\n").SnapCount);
        Assert.Equal(0.33, Parse("dataDir=DATADIR\n").SnapshotSizeFactor);
        Assert.Equal(-1, Parse("dataDir=DATADIR\nzookeeper.snapshotSizeFactor=-1\n").SnapshotSizeFactor);
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nsnapCount=7\nzookeeper.snapCount=8\n"));
        AssertError(e, 3, "zookeeper.snapCount");
        Assert.Contains("snapCount=7 on line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeysApacheParsesItselfTakeNoPrefix()
    {
        var config = Parse("dataDir=DATADIR\nzookeeper.tickTime=100\n");
        Assert.Equal(3000, config.TickTime);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("zoo.cfg", 2, "zookeeper.tickTime"), (warning.File, warning.Line, warning.Key));
    }

    [Theory]
    [InlineData("tickTime=abc", "tickTime", "'abc' is not a number")]
    [InlineData("tickTime=0", "tickTime", "at least 1")]
    [InlineData("tickTime=-5", "tickTime", "at least 1")]
    [InlineData("tickTime=2000ms", "tickTime", "is not a number")]
    [InlineData("tickTime=", "tickTime", "no value")]
    [InlineData("tickTime=99999999999", "tickTime", "out of range")]
    [InlineData("clientPort=70000", "clientPort", "between 0 and 65535")]
    [InlineData("clientPort=-1", "clientPort", "between 0 and 65535")]
    [InlineData("clientPort=two", "clientPort", "is not a number")]
    [InlineData("secureClientPort=65536", "secureClientPort", "between 0 and 65535")]
    [InlineData("observerMasterPort=-3", "observerMasterPort", "between 0 and 65535")]
    [InlineData("clientPortAddress=127.0.0.1", "clientPortAddress", "clientPort is not")]
    [InlineData("secureClientPortAddress=127.0.0.1", "secureClientPortAddress", "secureClientPort is not")]
    [InlineData("maxClientCnxns=-1", "maxClientCnxns", "at least 0")]
    [InlineData("maxCnxns=-1", "maxCnxns", "at least 0")]
    [InlineData("minSessionTimeout=0", "minSessionTimeout", "-1 for the default")]
    [InlineData("maxSessionTimeout=-2", "maxSessionTimeout", "at least -1")]
    [InlineData("initLimit=-1", "initLimit", "at least 0")]
    [InlineData("syncLimit=x", "syncLimit", "is not a number")]
    [InlineData("electionAlg=1", "electionAlg", "only 3")]
    [InlineData("forceSync=maybe", "forceSync", "is not yes or no")]
    [InlineData("forceSync=false", "forceSync", "is not yes or no")]
    [InlineData("zookeeper.forceSync=YES", "zookeeper.forceSync", "is not yes or no")]
    [InlineData("skipACL=true", "skipACL", "is not yes or no")]
    [InlineData("extendedTypesEnabled=yes", "extendedTypesEnabled", "is not true or false")]
    [InlineData("standaloneEnabled=1", "standaloneEnabled", "is not true or false")]
    [InlineData("sslQuorum=on", "sslQuorum", "is not true or false")]
    [InlineData("readonlymode.enabled=yes", "readonlymode.enabled", "is not true or false")]
    [InlineData("autopurge.snapRetainCount=many", "autopurge.snapRetainCount", "is not a number")]
    [InlineData("autopurge.purgeInterval=-1", "autopurge.purgeInterval", "at least 0")]
    [InlineData("snapCount=1e5", "snapCount", "is not a number")]
    [InlineData("preAllocSize=-1", "preAllocSize", "at least 0")]
    [InlineData("jute.maxbuffer=0", "jute.maxbuffer", "at least 1")]
    [InlineData("globalOutstandingLimit=0", "globalOutstandingLimit", "at least 1")]
    [InlineData("znode.container.checkIntervalMs=0", "znode.container.checkIntervalMs", "at least 1")]
    [InlineData("peerType=boss", "peerType", "is not observer or participant")]
    [InlineData("snapshotSizeFactor=1.5", "snapshotSizeFactor", "at most 1")]
    [InlineData("zookeeper.snapshotSizeFactor=a third", "zookeeper.snapshotSizeFactor", "is not a number")]
    [InlineData("version=xyz", "version", "hexadecimal")]
    [InlineData("quorum.auth.serverRequireSasl=true", "quorum.auth.serverRequireSasl", "quorum.auth.enableSasl=true")]
    [InlineData("quorum.auth.learnerRequireSasl=true", "quorum.auth.learnerRequireSasl", "quorum.auth.enableSasl=true")]
    public void BadValuesNameFileLineAndKey(string line, string key, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\n" + line + "\n"));
        AssertError(e, 2, key);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDataDirIsAnError()
    {
        AssertError(Assert.Throws<ConfigException>(() => Parse("clientPort=2181\n")), 0, "dataDir");
        AssertError(Assert.Throws<ConfigException>(() => Parse("clientPort=2181\ndataDir=\n")), 2, "dataDir");
    }

    [Fact]
    public void MinSessionTimeoutAboveMaxBlamesTheKeyThatWasSet()
    {
        var both = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nminSessionTimeout=9000\nmaxSessionTimeout=4000\n"));
        AssertError(both, 2, "minSessionTimeout");
        Assert.Contains("9000 ms", both.Message, StringComparison.Ordinal);

        // tickTime 3000: the default maximum is 60000.
        AssertError(Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nminSessionTimeout=70000\n")), 2, "minSessionTimeout");

        // The default minimum is 6000.
        AssertError(Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nmaxSessionTimeout=5000\n")), 2, "maxSessionTimeout");
    }

    [Fact]
    public void SessionTimeoutDefaultsFollowTheTick()
    {
        var config = Parse("dataDir=DATADIR\ntickTime=100\nminSessionTimeout=-1\n");
        Assert.Equal((200, 2000), (config.MinSessionTimeout, config.MaxSessionTimeout));
    }

    [Fact]
    public void UnknownKeysAreWarningsWithTheirLineAndAGuess()
    {
        var config = Parse("dataDir=DATADIR\ntickTimee=2000\nticktime=2000\ncompletely.made.up=1\n");
        Assert.Equal(3, config.Warnings.Count);
        Assert.Equal(("zoo.cfg", 2, "tickTimee"), (config.Warnings[0].File, config.Warnings[0].Line, config.Warnings[0].Key));
        Assert.Contains("did you mean tickTime?", config.Warnings[0].Message, StringComparison.Ordinal);
        Assert.Contains("did you mean tickTime?", config.Warnings[1].Message, StringComparison.Ordinal);
        Assert.Equal("unknown key; ignored", config.Warnings[2].Message);
        Assert.Equal("zoo.cfg:2: tickTimee: unknown key; ignored (did you mean tickTime?)", config.Warnings[0].ToString());
    }

    [Fact]
    public void ApacheKeysSharpKeeperIgnoresAreWarnedAboutWithWhyAndKnownKeysOfFeaturesOffAreNot()
    {
        var config = Parse("""
            dataDir=DATADIR
            admin.serverPort=8081
            admin.enableServer=false
            syncEnabled=true
            leaderServes=yes
            cnxTimeout=5000
            fsync.warningthresholdms=1000
            zookeeper.commitProcessor.numWorkerThreads=4
            jvm.pause.monitor=true
            ssl.keyStore.location=/etc/keystore.jks
            ssl.quorum.trustStore.location=/etc/truststore.jks
            metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider
            metricsProvider.httpPort=7000
            electionAlg=3
            quorumListenOnAllIPs=true
            reconfigEnabled=false
            multiAddress.enabled=false
            """);
        const string JavaInternals = "ignored: tunes a part of Apache ZooKeeper's Java implementation that SharpKeeper does not have";
        Assert.Equal(
            [
                ("leaderServes", JavaInternals),
                ("cnxTimeout", JavaInternals),
                ("fsync.warningthresholdms", JavaInternals),
                ("zookeeper.commitProcessor.numWorkerThreads", JavaInternals),
                ("jvm.pause.monitor", "ignored: there is no JVM to watch (mntr reports the runtime's GC pauses)"),
            ],
            config.Warnings.Select(w => (w.Key, w.Message)));
        Assert.True(config.QuorumListenOnAllIPs);
        Assert.Equal("8081", config.Raw["admin.serverPort"]);
    }

    [Fact]
    public void ThePrometheusProviderIsBuiltInWithApachesDefaultsAndCheckedSettings()
    {
        var config = Parse("""
            dataDir=DATADIR
            metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
            metricsProvider.exportJvmInfo=false
            """);
        Assert.Empty(config.Warnings);
        Assert.Equal(new MetricsSettings("0.0.0.0", 7000, ExportRuntime: false), config.Metrics);

        var bad = Assert.Throws<ConfigException>(() => Parse("""
            dataDir=DATADIR
            metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
            metricsProvider.httpPort=seventy
            """));
        Assert.Contains("metricsProvider.httpPort", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FeaturesSharpKeeperLacksAreWarnedAbout()
    {
        var config = Parse("""
            dataDir=DATADIR
            clientPort=2181
            secureClientPort=2281
            ssl.keyStore.location=server.p12
            authProvider.1=com.example.CustomAuthenticationProvider
            snapshot.compression.method=gz
            metricsProvider.className=com.example.StatsdMetricsProvider
            skipACL=yes
            """);
        Assert.Equal(
            ["authProvider.1", "snapshot.compression.method", "metricsProvider.className", "skipACL"],
            config.Warnings.Select(w => w.Key));
        Assert.Null(config.Metrics);
        Assert.Equal(2281, config.SecureClientPort);
        Assert.True(config.SkipAcl);
    }

    [Fact]
    public void TheSecureClientPortReadsApachesSslKeys()
    {
        File.WriteAllText(Path.Combine(_dir, "keystore.pass"), "s3cret\n");
        var config = Parse("""
            dataDir=DATADIR
            secureClientPort=2281
            ssl.keyStore.location=server.p12
            ssl.keyStore.passwordPath=keystore.pass
            zookeeper.ssl.trustStore.location=ca.pem
            ssl.trustStore.type=PEM
            ssl.clientAuth=want
            ssl.enabledProtocols=TLSv1.3, TLSv1.2
            ssl.ciphersuites=TLS_AES_128_GCM_SHA256
            authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider
            X509AuthenticationProvider.superUser=CN=admin
            """);
        Assert.Empty(config.Warnings);
        var tls = config.ClientTls!;
        Assert.Equal((Path.Combine(_dir, "server.p12"), "s3cret", null), (tls.KeyStore.Location, tls.KeyStore.Password, tls.KeyStore.Type));
        Assert.Equal((Path.Combine(_dir, "ca.pem"), "PEM"), (tls.TrustStore!.Location, tls.TrustStore.Type));
        Assert.Equal(ClientAuthMode.Want, tls.ClientAuth);
        Assert.Equal(["TLSv1.3", "TLSv1.2"], tls.Protocols);
        Assert.Equal(["TLS_AES_128_GCM_SHA256"], tls.CipherSuites);
        Assert.Equal(("x509", "CN=admin"), (tls.AuthScheme, tls.SuperUser));
        Assert.Null(config.ClientPort);
    }

    [Fact]
    public void ASecureClientPortNeedsAKeyStore()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nsecureClientPort=2281\n"));
        AssertError(e, 0, "ssl.keyStore.location");
        Assert.Contains("is needed to serve TLS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheAdminServerIsOnByDefaultAsInApache()
    {
        Assert.Equal(new AdminSettings("0.0.0.0", 8080, "/commands", TimeSpan.FromSeconds(30)), Parse("dataDir=DATADIR\n").Admin);
        var custom = Parse("dataDir=DATADIR\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=9090\nadmin.commandURL=/cmd/\nzookeeper.admin.idleTimeout=5000\n");
        Assert.Equal(new AdminSettings("127.0.0.1", 9090, "/cmd", TimeSpan.FromSeconds(5)), custom.Admin);
        Assert.Null(Parse("dataDir=DATADIR\nadmin.enableServer=false\n").Admin);
    }

    [Fact]
    public void EnforcedAuthenticationReadsApachesKeys()
    {
        var digest = Parse("dataDir=DATADIR\nenforce.auth.enabled=true\nenforce.auth.schemes=digest, ip\n");
        Assert.Equal(["digest", "ip"], digest.EnforcedAuthSchemes!.Order());
        var sasl = Parse("""
            dataDir=DATADIR
            authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            sessionRequireClientSASLAuth=true
            enforce.auth.schemes=digest
            allowSaslFailedClients=true
            """);
        Assert.Equal(["sasl"], sasl.EnforcedAuthSchemes!);
        Assert.True(sasl.AllowSaslFailedClients);
        Assert.Null(Parse("dataDir=DATADIR\n").EnforcedAuthSchemes);
    }

    [Theory]
    [InlineData("enforce.auth.enabled=true", "enforce.auth.enabled", "enforce.auth.schemes must name")]
    [InlineData("enforce.auth.enabled=true\nenforce.auth.schemes=x509", "enforce.auth.schemes", "scheme x509 is not available")]
    [InlineData("sessionRequireClientSASLAuth=true", "sessionRequireClientSASLAuth", "scheme sasl is not available")]
    public void EnforcedAuthenticationNeedsAvailableSchemes(string lines, string key, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\n" + lines + "\n"));
        Assert.Equal(key, e.Key);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TlsBetweenServersReadsApachesSslQuorumKeys()
    {
        var config = Parse("""
            dataDir=DATADIR
            sslQuorum=true
            portUnification=true
            sslQuorumReloadCertFiles=true
            ssl.quorum.keyStore.location=quorum.jks
            ssl.quorum.keyStore.password=pw
            zookeeper.ssl.quorum.trustStore.location=ca.pem
            ssl.quorum.hostnameVerification=false
            ssl.quorum.protocol=TLSv1.3
            """);
        Assert.Empty(config.Warnings);
        Assert.True(config.SslQuorum && config.PortUnification);
        var tls = config.QuorumTls!;
        Assert.Equal((Path.Combine(_dir, "quorum.jks"), "pw"), (tls.KeyStore.Location, tls.KeyStore.Password));
        Assert.Equal(Path.Combine(_dir, "ca.pem"), tls.TrustStore!.Location);
        Assert.Equal((ClientAuthMode.Need, false, true), (tls.ClientAuth, tls.HostnameVerification, tls.ReloadOnChange));
        Assert.Equal(["TLSv1.3"], tls.Protocols);
        Assert.Null(config.ClientTls);
    }

    [Fact]
    public void TlsBetweenServersNeedsAKeyStore()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nportUnification=true\n"));
        AssertError(e, 0, "ssl.quorum.keyStore.location");
        Assert.Contains("for TLS between servers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SaslBetweenServersReadsBothJaasSections()
    {
        File.WriteAllText(Path.Combine(_dir, "jaas.conf"), """
            QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required user_test="pw" user_other="pw2"; };
            Learner { org.apache.zookeeper.server.auth.DigestLoginModule required username="test" password="pw"; };
            """);
        var config = Parse("""
            dataDir=DATADIR
            java.security.auth.login.config=jaas.conf
            quorum.auth.enableSasl=true
            quorum.auth.learnerRequireSasl=true
            quorum.auth.serverRequireSasl=true
            quorum.auth.learner.saslLoginContext=Learner
            """);
        var sasl = config.QuorumSasl!;
        Assert.True(sasl.LearnerRequiresSasl && sasl.ServerRequiresSasl);
        Assert.Equal(("test", "pw"), (sasl.LearnerUser, sasl.LearnerPassword));
        Assert.Equal(["other", "test"], sasl.ServerUsers.Keys.Order());
    }

    [Theory]
    [InlineData("", "quorum.auth.enableSasl", "needs a JAAS file")]
    [InlineData("java.security.auth.login.config=jaas.conf\nquorum.auth.server.saslLoginContext=Nowhere", "java.security.auth.login.config", "no Nowhere section")]
    [InlineData("java.security.auth.login.config=missing.conf", "java.security.auth.login.config", "cannot read the JAAS file")]
    public void SaslBetweenServersWithoutItsJaasSectionsFailsToStart(string extra, string key, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "jaas.conf"), """
            QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required user_test="pw"; };
            QuorumLearner { org.apache.zookeeper.server.auth.DigestLoginModule required username="test" password="pw"; };
            """);
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\nquorum.auth.enableSasl=true\n" + extra + "\n"));
        Assert.Equal(key, e.Key);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JavaFlagsInServerJvmFlagsMeanWhatTheyMeanToApache()
    {
        var environment = new Dictionary<string, string>
        {
            ["JVMFLAGS"] = "-Xmx1g -Dzookeeper.snapCount=9",
            ["SERVER_JVMFLAGS"] = "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU= "
                + "-Dzookeeper.snapCount=7 -Djute.maxbuffer=2000000 -Dzookeeper.commitLogCount=123 '-Dsome.unknown=a b' -XX:+UseG1GC",
        };
        var config = ServerConfig.Parse("dataDir=DATADIR\ncommitLogCount=456\n".Replace("DATADIR", _dir, StringComparison.Ordinal), "zoo.cfg", _dir, environment.GetValueOrDefault);

        // SERVER_JVMFLAGS comes after JVMFLAGS; zoo.cfg beats both.
        Assert.Equal(7, config.SnapCount);
        Assert.Equal("super:D/InIHSb7yEEbrWz8b9l71RjZJU=", config.SuperDigest);
        Assert.Equal(2000000, config.JuteMaxBuffer);
        Assert.Equal(456, config.CommitLogCount);

        var unknown = Assert.Single(config.Warnings, w => w.Key == "some.unknown");
        Assert.Equal(("SERVER_JVMFLAGS", 0), (unknown.File, unknown.Line));
        Assert.Contains(config.Warnings, w => w.File == "JVMFLAGS" && w.Message.Contains("-Xmx1g", StringComparison.Ordinal));
        Assert.Contains(config.Warnings, w => w.File == "SERVER_JVMFLAGS" && w.Message.Contains("-XX:+UseG1GC", StringComparison.Ordinal));
    }

    [Fact]
    public void ABadValueInAJavaFlagNamesTheVariable()
    {
        var environment = new Dictionary<string, string> { ["SERVER_JVMFLAGS"] = "-Dzookeeper.snapCount=many" };
        var e = Assert.Throws<ConfigException>(() => ServerConfig.Parse($"dataDir={_dir}\n", "zoo.cfg", _dir, environment.GetValueOrDefault));
        Assert.Equal(("SERVER_JVMFLAGS", "zookeeper.snapCount"), (e.File, e.Key));
    }

    [Fact]
    public void RepeatedKeysWarnAndTheLastWins()
    {
        var config = Parse("dataDir=DATADIR\ntickTime=2000\ntickTime=4000\n");
        Assert.Equal(4000, config.TickTime);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal((3, "tickTime"), (warning.Line, warning.Key));
        Assert.Contains("line 2", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RetainCountBelowThreeIsRaisedWithAWarning()
    {
        var config = Parse("dataDir=DATADIR\nautopurge.snapRetainCount=1\n");
        Assert.Equal(3, config.AutopurgeSnapRetainCount);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal((2, "autopurge.snapRetainCount"), (warning.Line, warning.Key));
    }

    [Fact]
    public void SnapCountBelowTwoIsRaisedWithAWarning()
    {
        var config = Parse("dataDir=DATADIR\nzookeeper.snapCount=-4\n");
        Assert.Equal(2, config.SnapCount);
        Assert.Equal((2, "zookeeper.snapCount"), (config.Warnings.Single().Line, config.Warnings.Single().Key));
    }

    [Fact]
    public void ZeroPreAllocSizeTurnsPreallocationOff() =>
        Assert.Equal(0, Parse("dataDir=DATADIR\npreAllocSize=0\n").PreAllocSize);

    [Fact]
    public void ClientPortZeroMeansNotSet()
    {
        var config = Parse("dataDir=DATADIR\nclientPort=0\n");
        Assert.Null(config.ClientPort);
    }

    [Fact]
    public void BracketedIPv6ClientPortAddressLosesItsBrackets() =>
        Assert.Equal("::1", Parse("dataDir=DATADIR\nclientPort=2181\nclientPortAddress=[::1]\n").ClientPortAddress);

    [Fact]
    public void FourLetterWordWhitelist()
    {
        Assert.Equal(["srvr"], Parse("dataDir=DATADIR\n4lw.commands.whitelist=\n").FourLetterWordWhitelist);

        var star = Parse("dataDir=DATADIR\n4lw.commands.whitelist=*\n");
        foreach (var word in new[] { "ruok", "srvr", "stat", "envi", "conf", "cons", "mntr", "isro", "wchs", "wchc", "wchp", "dump", "dirs", "crst", "srst" })
        {
            Assert.True(star.IsFourLetterWordAllowed(word), word);
        }

        Assert.False(star.IsFourLetterWordAllowed("nope"));

        var listed = Parse("dataDir=DATADIR\n4lw.commands.whitelist=ruok , STAT,bogus,,conf\n");
        Assert.Equal(["conf", "ruok", "srvr"], listed.FourLetterWordWhitelist.Order());
        Assert.Equal(2, listed.Warnings.Count);
        Assert.All(listed.Warnings, w => Assert.Equal((2, "4lw.commands.whitelist"), (w.Line, w.Key)));
    }

    [Fact]
    public void RelativePathsAreTakenFromTheBaseDirectoryWithApachesWarning()
    {
        var config = Parse("dataDir=data\ndataLogDir=./logs/\n");
        Assert.Equal(Path.Combine(_dir, "data"), config.DataDir);
        Assert.Equal(Path.Combine(_dir, "logs"), config.DataLogDir);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal((1, "dataDir"), (warning.Line, warning.Key));
    }

    [Theory]
    [InlineData("dataDir=/tmp/zookeeper", true)]
    [InlineData("dataDir=/tmp", true)]
    [InlineData("dataDir=/var/tmp/zk", true)]
    [InlineData("dataDir=/dev/shm/zk", true)]
    [InlineData("dataDir=/var/lib/zookeeper", false)]
    [InlineData("dataDir=/tmpfoo/zk", false)]
    [InlineData("dataDir=/var/lib/zookeeper\ndataLogDir=/tmp/zklog", true)]
    public void DataUnderTmpIsFlagged(string text, bool underTmp) => Assert.Equal(underTmp, Parse(text).DataDirIsUnderTmp);

    [Fact]
    public void AValidSuperDigestIsNotWarnedAbout()
    {
        var digest = "super:" + Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes("super:secret")));
        var config = Parse($"dataDir=DATADIR\nDigestAuthenticationProvider.superDigest={digest}\n");
        Assert.Equal(digest, config.SuperDigest);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void EmbeddedDefaultIsLoopbackWithMonitoringWords()
    {
        var config = ServerConfig.EmbeddedDefault(_dir);
        Assert.Null(config.SourceFile);
        Assert.Equal(("127.0.0.1", 2181), (config.ClientPortAddress, config.ClientPort));
        Assert.Equal(Path.Combine(_dir, "data"), config.DataDir);
        Assert.Equal(config.DataDir, config.DataLogDir);
        Assert.Equal(2000, config.TickTime);
        Assert.Equal((4000, 40000), (config.MinSessionTimeout, config.MaxSessionTimeout));
        foreach (var word in new[] { "ruok", "srvr", "stat", "envi", "conf", "cons", "mntr", "isro", "wchs", "wchc", "wchp", "dump", "dirs", "crst", "srst" })
        {
            Assert.True(config.IsFourLetterWordAllowed(word), word);
        }

        Assert.True(config.IsStandalone);
        Assert.Null(config.MyId);
        Assert.Empty(config.Warnings);
        Assert.Equal("2181", config.Raw["clientPort"]);
    }

    [Fact]
    public void LoadReadsAFileAndNamesItInErrors()
    {
        var path = Path.Combine(_dir, "zoo.cfg");
        File.WriteAllText(path, $"tickTime=2000\ndataDir={_dir}\nclientPort=2181\n");
        var config = ServerConfig.Load(path);
        Assert.Equal(path, config.SourceFile);
        Assert.Equal((2000, 2181), (config.TickTime, config.ClientPort));

        File.WriteAllText(path, $"dataDir={_dir}\n\ntickTime=soon\n");
        var e = Assert.Throws<ConfigException>(() => ServerConfig.Load(path));
        Assert.Equal((path, 3, "tickTime"), (e.File, e.Line, e.Key));
        Assert.Equal($"{path}:3: tickTime: 'soon' is not a number", e.Message);
    }

    [Fact]
    public void LoadingWhatIsNotAFileIsAConfigError()
    {
        var missing = Path.Combine(_dir, "nope.cfg");
        var e = Assert.Throws<ConfigException>(() => ServerConfig.Load(missing));
        Assert.Equal((missing, 0), (e.File, e.Line));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => ServerConfig.Load(_dir));
    }
}
