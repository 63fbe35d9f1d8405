using System.Collections.ObjectModel;
using System.Globalization;

namespace SharpKeeper.Server.Config;

/// <summary>How the entries of a zoo.cfg become a <see cref="ServerConfig"/>, step by step in the order Apache checks them.</summary>
public sealed partial class ServerConfig
{
    private const string DefaultMetricsProvider = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";
    private const string PrometheusMetricsProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

    /// <summary>Where each server.N line was written, for messages; only used while building.</summary>
    private Dictionary<long, ConfigEntry> _serverLines = [];

    private static ServerConfig Build(List<ConfigEntry> entries, string file, string? sourceFile, string baseDirectory, List<ConfigWarning> warnings)
    {
        WarnAboutRepeatedKeys(entries, warnings);
        var values = new ConfigValues(entries);
        var raw = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            raw[entry.Key] = entry.Value;
        }

        var config = new ServerConfig { SourceFile = sourceFile };
        config.ReadAuthProviders(entries);
        config.ReadDirectories(values, file, baseDirectory, warnings);
        config.ReadClientPorts(values);
        config.ReadClientTls(values, file, baseDirectory);
        config.ReadQuorumTls(values, file, baseDirectory);
        config.ReadClientSasl(values, baseDirectory, warnings);
        config.ReadQuorumSasl(values, baseDirectory);
        config.ReadAuthEnforcement(values);
        config.ReadAdmin(values, file, baseDirectory);
        config.ReadMetrics(values);
        config.ReadTimes(values, file);
        config.ReadTuning(values, warnings);
        config.ReadFourLetterWords(values, warnings);
        var requestedRole = ReadPeerType(values);
        config.ReadQuorum(values, entries, file, baseDirectory, warnings, raw);
        config.ReadMyId(file);
        config.ApplyOwnServerLine(values, requestedRole, warnings);
        config.CheckEnsembleNeeds(values, file);
        WarnAboutUnsupportedFeatures(values, entries, warnings);
        WarnAboutUnknownKeys(entries, values, warnings);

        config.Raw = new ReadOnlyDictionary<string, string>(raw);
        config.SystemProperties = SystemPropertiesOf(entries);
        config.Warnings = warnings.OrderBy(w => w.File == file ? 0 : 1).ThenBy(w => w.Line == 0 ? int.MaxValue : w.Line).ToArray();
        return config;
    }

    /// <summary>
    /// The system properties an Apache server started the same way would hold: each -D flag as given,
    /// and each zoo.cfg key QuorumPeerConfig does not read itself as "zookeeper." + key.
    /// </summary>
    private static IReadOnlyList<KeyValuePair<string, string>> SystemPropertiesOf(List<ConfigEntry> entries)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.File is JvmFlags.ServerVariable or JvmFlags.CommonVariable)
            {
                properties[entry.Key] = entry.Value;
            }
            else if (!ConfigKeys.IsQuorumPeerConfigKey(entry.Key))
            {
                properties[ConfigKeys.SystemPropertyPrefix + entry.Key] = entry.Value;
            }
        }

        return [.. properties];
    }

    private static void WarnAboutRepeatedKeys(List<ConfigEntry> entries, List<ConfigWarning> warnings)
    {
        var seen = new Dictionary<string, ConfigEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (seen.TryGetValue(entry.Key, out var earlier) && !IsServerKey(entry.Key))
            {
                warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key,
                    $"set again; '{entry.Value}' replaces '{earlier.Value}' from line {earlier.Line}"));
            }

            seen[entry.Key] = entry;
        }
    }

    private void ReadDirectories(ConfigValues values, string file, string baseDirectory, List<ConfigWarning> warnings)
    {
        var dataDir = values.Find("dataDir");
        if (dataDir is not { Value.Length: > 0 })
        {
            throw new ConfigException(dataDir?.File ?? file, dataDir?.Line ?? 0, "dataDir",
                "dataDir is not set: it names the directory for snapshots (and for myid)");
        }

        DataDir = ResolvePath(dataDir, baseDirectory, warnings);
        DataLogDir = values.Find("dataLogDir") is { Value.Length: > 0 } dataLogDir ? ResolvePath(dataLogDir, baseDirectory, warnings) : DataDir;
    }

    /// <summary>Relative paths are taken from the working directory, with Apache's warning unless they start with ./ or ../.</summary>
    private static string ResolvePath(ConfigEntry entry, string baseDirectory, List<ConfigWarning> warnings)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(entry.Value, baseDirectory));
        if (!Path.IsPathRooted(entry.Value) && !entry.Value.StartsWith("./", StringComparison.Ordinal) && !entry.Value.StartsWith("../", StringComparison.Ordinal))
        {
            warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key,
                $"'{entry.Value}' is a relative path, taken as {full}; write ./{entry.Value} if that is what you mean"));
        }

        return full;
    }

    /// <summary>Apache's client-certificate provider, which SharpKeeper has built in.</summary>
    public const string X509ProviderClass = "org.apache.zookeeper.server.auth.X509AuthenticationProvider";

    /// <summary>Apache's SASL provider (the sasl ACL scheme), which SharpKeeper has built in.</summary>
    public const string SaslProviderClass = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";

    /// <summary>
    /// The schemes of the built-in providers that authProvider.N (or zookeeper.authProvider.N) names:
    /// as in Apache's ProviderRegistry, x509 and sasl exist only when configured (ip and digest always).
    /// </summary>
    private void ReadAuthProviders(List<ConfigEntry> entries)
    {
        var schemes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries.Where(e => e.Key.StartsWith("authProvider.", StringComparison.Ordinal)
            || e.Key.StartsWith(ConfigKeys.SystemPropertyPrefix + "authProvider.", StringComparison.Ordinal)))
        {
            switch (entry.Value)
            {
                case X509ProviderClass:
                    schemes.Add(Auth.AuthProviders.X509);
                    break;
                case SaslProviderClass:
                    schemes.Add(Auth.AuthProviders.Sasl);
                    break;
            }
        }

        AuthProviderSchemes = schemes;
    }

    /// <summary>
    /// Clients that must authenticate before anything else (Apache's AuthenticationHelper):
    /// sessionRequireClientSASLAuth means sasl; otherwise enforce.auth.enabled with the schemes in
    /// enforce.auth.schemes, each of which must have its provider. allowSaslFailedClients keeps a
    /// client whose SASL failed connected, unless SASL is what is required.
    /// </summary>
    private void ReadAuthEnforcement(ConfigValues values)
    {
        var requireSasl = values.Bool("sessionRequireClientSASLAuth");
        var enabled = values.Bool("enforce.auth.enabled");
        var schemesEntry = values.Find("enforce.auth.schemes");
        AllowSaslFailedClients = values.Bool("allowSaslFailedClients");
        List<string> schemes;
        ConfigEntry where;
        if (requireSasl)
        {
            schemes = [Auth.AuthProviders.Sasl];
            where = values.Find("sessionRequireClientSASLAuth")!;
        }
        else if (enabled)
        {
            schemes = SplitList(schemesEntry?.Value);
            where = schemesEntry ?? values.Find("enforce.auth.enabled")!;
            if (schemes.Count == 0)
            {
                throw ConfigValues.Error(where, "enforce.auth.enabled is true: enforce.auth.schemes must name the schemes clients must authenticate with");
            }
        }
        else
        {
            return;
        }

        foreach (var scheme in schemes)
        {
            if (!Auth.AuthProviders.HasProvider(scheme, AuthProviderSchemes))
            {
                throw ConfigValues.Error(where, $"authentication scheme {scheme} is not available (authProvider.N names no provider of it)");
            }
        }

        EnforcedAuthSchemes = schemes.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The AdminServer: on by default, as in Apache, on 0.0.0.0:8080 with commands under /commands.</summary>
    private void ReadAdmin(ConfigValues values, string file, string baseDirectory)
    {
        // Read (and checked) even when the server is off, so that none of them is an unknown key.
        var enabled = values.Bool("admin.enableServer");
        var commandUrl = values.String("admin.commandURL") ?? "/commands";
        var address = values.String("admin.serverAddress") ?? "0.0.0.0";
        var port = values.Int("admin.serverPort");
        var idleTimeout = values.Int("admin.idleTimeout");
        var snapshotEnabled = values.Bool("admin.snapshot.enabled");
        var restoreEnabled = values.Bool("admin.restore.enabled");
        var rateLimit = values.Int("admin.rateLimiterIntervalInMS");

        // HTTPS with the quorum's key and trust stores, as Apache's AdminServer: forced, or beside HTTP on the one port.
        var forceHttps = values.Bool("admin.forceHttps");
        var portUnification = values.Bool("admin.portUnification");
        var needClientAuth = values.Bool("admin.needClientAuth");
        var console = values.Bool("admin.console.enabled");
        var https = enabled && (forceHttps || portUnification)
            ? ReadTls(values, "ssl.quorum", file, baseDirectory, "for the AdminServer's HTTPS (admin.forceHttps or admin.portUnification)") with
            {
                ClientAuth = needClientAuth ? ClientAuthMode.Need : ClientAuthMode.None,
            }
            : null;
        if (enabled)
        {
            Admin = new AdminSettings(StripBrackets(address), port, "/" + commandUrl.Trim('/'), TimeSpan.FromMilliseconds(idleTimeout))
            {
                SnapshotEnabled = snapshotEnabled,
                RestoreEnabled = restoreEnabled,
                RateLimitInterval = TimeSpan.FromMilliseconds(rateLimit),
                Https = https,
                ForceHttps = forceHttps,
                ConsoleEnabled = console,
            };
        }
    }

    /// <summary>
    /// Apache's Prometheus provider (metricsProvider.className naming it) and its settings: the
    /// endpoint's host, port and whether the runtime's own series are exported. Its worker-pool
    /// keys are read and checked; SharpKeeper records summaries without a pool.
    /// </summary>
    private void ReadMetrics(ConfigValues values)
    {
        var className = values.String("metricsProvider.className");
        var host = values.String("metricsProvider.httpHost") ?? "0.0.0.0";
        var port = values.Int("metricsProvider.httpPort");
        var exportRuntime = values.Bool("metricsProvider.exportJvmInfo");
        values.Int("metricsProvider.numWorkerThreads");
        values.Int("metricsProvider.maxQueueSize");
        values.Int("metricsProvider.workerShutdownTimeoutMs");
        if (className == PrometheusMetricsProvider)
        {
            Metrics = new MetricsSettings(StripBrackets(host), port, exportRuntime);
        }
    }

    private void ReadClientPorts(ConfigValues values)
    {
        (ClientPort, ClientPortAddress) = ReadPortAndAddress(values, "clientPort", "clientPortAddress");
        (SecureClientPort, SecureClientPortAddress) = ReadPortAndAddress(values, "secureClientPort", "secureClientPortAddress");
        ClientPortListenBacklog = values.Int("clientPortListenBacklog");
        ObserverMasterPort = values.Int("observerMasterPort");
        ConnectToLearnerMasterLimit = values.Int("connectToLearnerMasterLimit");
    }

    /// <summary>
    /// The secure client port's ssl.* settings (Apache's ClientX509Util keys, read from zoo.cfg or as
    /// zookeeper.ssl.* properties). Required once secureClientPort is set, or client.portUnification
    /// lets TLS clients onto the plain port: a key store at least.
    /// </summary>
    private void ReadClientTls(ConfigValues values, string file, string baseDirectory)
    {
        ClientPortUnification = values.Bool("client.portUnification");
        if (SecureClientPort is null && !ClientPortUnification)
        {
            return;
        }

        var scheme = values.String("ssl.authProvider") ?? "x509";
        ClientTls = ReadTls(values, "ssl", file, baseDirectory, "to serve TLS (secureClientPort or client.portUnification)") with
        {
            // Without the provider (authProvider.x509=...X509AuthenticationProvider) a certificate is no identity.
            AuthScheme = AuthProviderSchemes.Contains(scheme) ? scheme : null,
            SuperUser = values.String("X509AuthenticationProvider.superUser"),
            ReloadOnChange = values.Bool("client.certReload"),
        };
    }

    /// <summary>
    /// TLS between servers (Apache's QuorumX509Util): sslQuorum makes every quorum and election
    /// connection this server opens TLS and its listeners TLS-only; portUnification lets its
    /// listeners take TLS and plain connections both (the rolling switch). sslQuorum and
    /// portUnification are zoo.cfg keys only; ssl.quorum.* may also be zookeeper.ssl.quorum.* properties.
    /// </summary>
    private void ReadQuorumTls(ConfigValues values, string file, string baseDirectory)
    {
        SslQuorum = values.Bool("sslQuorum");
        PortUnification = values.Bool("portUnification");
        var reload = values.Bool("sslQuorumReloadCertFiles");
        if (!SslQuorum && !PortUnification)
        {
            return;
        }

        QuorumTls = ReadTls(values, "ssl.quorum", file, baseDirectory, "for TLS between servers (sslQuorum or portUnification)") with { ReloadOnChange = reload };
    }

    /// <summary>One set of TLS keys (PREFIX.keyStore.*, PREFIX.trustStore.*, PREFIX.clientAuth, PREFIX.enabledProtocols or PREFIX.protocol, PREFIX.ciphersuites, PREFIX.hostnameVerification).</summary>
    private static TlsSettings ReadTls(ConfigValues values, string prefix, string file, string baseDirectory, string purpose)
    {
        var keyStore = ReadStore(values, prefix + ".keyStore", baseDirectory)
            ?? throw new ConfigException(file, 0, prefix + ".keyStore.location", "is needed " + purpose);
        var clientAuth = values.Find(prefix + ".clientAuth");
        var protocols = values.Find(prefix + ".enabledProtocols") ?? values.Find(prefix + ".protocol");
        var ciphers = values.Find(prefix + ".ciphersuites");
        return new TlsSettings
        {
            KeyStore = keyStore,
            TrustStore = ReadStore(values, prefix + ".trustStore", baseDirectory),
            ClientAuth = clientAuth?.Value.ToLowerInvariant() switch
            {
                null or "" or "need" => ClientAuthMode.Need,
                "want" => ClientAuthMode.Want,
                "none" => ClientAuthMode.None,
                _ => throw ConfigValues.Error(clientAuth, $"'{clientAuth.Value}' is not none, want or need"),
            },
            Protocols = SplitList(protocols?.Value),
            ProtocolsSource = Source(protocols),
            CipherSuites = SplitList(ciphers?.Value),
            CipherSuitesSource = Source(ciphers),
            HostnameVerification = values.Bool(prefix + ".hostnameVerification"),
            CheckRevocation = values.Bool(prefix + ".crl") | values.Bool(prefix + ".ocsp"),
        };
    }

    /// <summary>
    /// Client SASL: the DigestLoginModule users of the JAAS file's server section, as Apache's
    /// SaslServerCallbackHandler reads them (user_NAME="password"). Kerberos is not supported and says so.
    /// </summary>
    private void ReadClientSasl(ConfigValues values, string baseDirectory, List<ConfigWarning> warnings)
    {
        var jaas = values.Find("java.security.auth.login.config");
        var sectionName = values.String("sasl.serverconfig") ?? "Server";
        SaslSuperUser = values.String("superUser");
        if (jaas is not { Value.Length: > 0 })
        {
            return;
        }

        var (path, config) = ReadJaas(jaas, baseDirectory);
        if (config.Section(sectionName) is not { } section)
        {
            warnings.Add(new ConfigWarning(jaas.File, jaas.Line, jaas.Key, $"{path} has no {sectionName} section: clients cannot authenticate with SASL"));
            return;
        }

        if (section.Any(m => m.ClassName.EndsWith("Krb5LoginModule", StringComparison.Ordinal)))
        {
            warnings.Add(new ConfigWarning(jaas.File, jaas.Line, jaas.Key,
                $"{path}: Kerberos (GSSAPI, Krb5LoginModule) is not supported by SharpKeeper; only DIGEST-MD5 users (user_NAME=\"password\") can authenticate"));
        }

        SaslUsers = Auth.JaasConfig.DigestUsers(section);
    }

    private static (string Path, Auth.JaasConfig Config) ReadJaas(ConfigEntry jaas, string baseDirectory)
    {
        var path = Path.GetFullPath(jaas.Value, baseDirectory);
        try
        {
            return (path, Auth.JaasConfig.Parse(File.ReadAllText(path)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ConfigValues.Error(jaas, $"cannot read the JAAS file {path}: {e.Message}");
        }
        catch (FormatException e)
        {
            throw ConfigValues.Error(jaas, $"{path}: {e.Message}");
        }
    }

    /// <summary>
    /// SASL between servers (quorum.auth.*, zoo.cfg keys only, checked as Apache checks them). With
    /// enableSasl both JAAS sections must exist, as Apache fails its start without either: the server
    /// section's DigestLoginModule users, and the learner section's username and password.
    /// </summary>
    private void ReadQuorumSasl(ConfigValues values, string baseDirectory)
    {
        var enabled = values.Bool("quorum.auth.enableSasl");
        var serverRequires = values.Bool("quorum.auth.serverRequireSasl");
        var learnerRequires = values.Bool("quorum.auth.learnerRequireSasl");
        var learnerContext = values.String("quorum.auth.learner.saslLoginContext") ?? "QuorumLearner";
        var serverContext = values.String("quorum.auth.server.saslLoginContext") ?? "QuorumServer";
        values.String("quorum.auth.kerberos.servicePrincipal");
        if (serverRequires && !enabled)
        {
            throw ConfigValues.Error(values.Find("quorum.auth.serverRequireSasl")!, "needs quorum.auth.enableSasl=true");
        }

        if (learnerRequires && !enabled)
        {
            throw ConfigValues.Error(values.Find("quorum.auth.learnerRequireSasl")!, "needs quorum.auth.enableSasl=true");
        }

        if (serverRequires && !learnerRequires)
        {
            throw ConfigValues.Error(values.Find("quorum.auth.serverRequireSasl")!, "needs quorum.auth.learnerRequireSasl=true");
        }

        if (!enabled)
        {
            return;
        }

        var enable = values.Find("quorum.auth.enableSasl")!;
        var jaas = values.Find("java.security.auth.login.config");
        if (jaas is not { Value.Length: > 0 })
        {
            throw ConfigValues.Error(enable, "needs a JAAS file (java.security.auth.login.config, in SERVER_JVMFLAGS or zoo.cfg) with the sections " + learnerContext + " and " + serverContext);
        }

        var (path, config) = ReadJaas(jaas, baseDirectory);
        var serverSection = config.Section(serverContext)
            ?? throw ConfigValues.Error(jaas, $"{path} has no {serverContext} section (quorum.auth.server.saslLoginContext), which quorum.auth.enableSasl needs");
        var learnerSection = config.Section(learnerContext)
            ?? throw ConfigValues.Error(jaas, $"{path} has no {learnerContext} section (quorum.auth.learner.saslLoginContext), which quorum.auth.enableSasl needs");
        if (serverSection.Concat(learnerSection).Any(m => m.ClassName.EndsWith("Krb5LoginModule", StringComparison.Ordinal)))
        {
            throw ConfigValues.Error(jaas, $"{path}: Kerberos (GSSAPI, Krb5LoginModule) between servers is not supported by SharpKeeper; use DigestLoginModule");
        }

        var learnerModule = learnerSection.FirstOrDefault(m => m.Options.ContainsKey("username"));
        if (learnerModule is null || !learnerModule.Options.TryGetValue("password", out var password))
        {
            throw ConfigValues.Error(jaas, $"{path}: the {learnerContext} section needs username=\"...\" and password=\"...\"");
        }

        QuorumSasl = new QuorumSaslSettings
        {
            LearnerRequiresSasl = learnerRequires,
            ServerRequiresSasl = serverRequires,
            LearnerUser = learnerModule.Options["username"],
            LearnerPassword = password,
            ServerUsers = Auth.JaasConfig.DigestUsers(serverSection),
        };
    }

    private static StoreSettings? ReadStore(ConfigValues values, string prefix, string baseDirectory)
    {
        var location = values.Find(prefix + ".location");
        var password = values.String(prefix + ".password");
        var passwordPath = values.Find(prefix + ".passwordPath");
        var type = values.String(prefix + ".type");
        if (location is not { Value.Length: > 0 })
        {
            return null;
        }

        if (password is null && passwordPath is { Value.Length: > 0 })
        {
            // As Apache's SecretUtils: the file's text, without a final line break.
            var path = Path.GetFullPath(passwordPath.Value, baseDirectory);
            try
            {
                password = File.ReadAllText(path).TrimEnd('\n', '\r');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw ConfigValues.Error(passwordPath, $"cannot read the password file {path}: {e.Message}");
            }
        }

        return new StoreSettings(Path.GetFullPath(location.Value, baseDirectory), password, type, Source(location)!);
    }

    private static List<string> SplitList(string? value) =>
        value is null ? [] : [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static ConfigSource? Source(ConfigEntry? entry) => entry is null ? null : new ConfigSource(entry.File, entry.Line, entry.Key);

    /// <summary>A port of 0 (or none) means "not set"; an address without a port is an error, as in Apache.</summary>
    private static (int? Port, string? Address) ReadPortAndAddress(ConfigValues values, string portKey, string addressKey)
    {
        var port = values.Int(portKey);
        var address = values.Find(addressKey);
        if (port == 0)
        {
            if (address is { Value.Length: > 0 })
            {
                throw ConfigValues.Error(address, $"{addressKey} is set but {portKey} is not");
            }

            return (null, null);
        }

        return (port, address is { Value.Length: > 0 } ? StripBrackets(address.Value) : null);
    }

    private static string StripBrackets(string host) =>
        host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;

    private void ReadTimes(ConfigValues values, string file)
    {
        TickTime = values.Int("tickTime");
        InitLimit = values.Int("initLimit");
        SyncLimit = values.Int("syncLimit");
        values.Int("connectToLearnerMasterLimit");

        var minEntry = values.Find("minSessionTimeout");
        var maxEntry = values.Find("maxSessionTimeout");
        MinSessionTimeout = SessionTimeout(minEntry, 2L * TickTime, values, file);
        MaxSessionTimeout = SessionTimeout(maxEntry, 20L * TickTime, values, file);
        if (MinSessionTimeout > MaxSessionTimeout)
        {
            var blamed = minEntry is not null && minEntry.Value != "-1" ? minEntry : maxEntry!;
            throw ConfigValues.Error(blamed,
                $"minSessionTimeout ({MinSessionTimeout} ms) must not be larger than maxSessionTimeout ({MaxSessionTimeout} ms)");
        }

        var electionAlg = values.Find("electionAlg");
        if (electionAlg is not null && ConfigValues.ParseLong(electionAlg, int.MinValue, int.MaxValue) != 3)
        {
            throw ConfigValues.Error(electionAlg, $"'{electionAlg.Value}' is not supported: only 3 (fast leader election) is");
        }
    }

    /// <summary>-1 (or nothing) for the default number of ticks; otherwise a positive number of ms.</summary>
    private static int SessionTimeout(ConfigEntry? entry, long fallback, ConfigValues values, string file)
    {
        var value = entry is null ? -1 : ConfigValues.ParseLong(entry, -1, int.MaxValue);
        if (value == 0)
        {
            throw ConfigValues.Error(entry!, "0 is not a session timeout: give a number of ms, or -1 for the default");
        }

        if (value != -1)
        {
            return (int)value;
        }

        if (fallback > int.MaxValue)
        {
            var tick = values.Find("tickTime");
            throw new ConfigException(tick?.File ?? file, tick?.Line ?? 0, "tickTime", "is too large: 20 ticks must fit in 2^31-1 ms");
        }

        return (int)fallback;
    }

    private void ReadTuning(ConfigValues values, List<ConfigWarning> warnings)
    {
        MaxClientCnxns = values.Int("maxClientCnxns");
        MaxCnxns = values.Int("maxCnxns");

        AutopurgeSnapRetainCount = values.Int("autopurge.snapRetainCount");
        if (AutopurgeSnapRetainCount < MinSnapRetainCount)
        {
            var entry = values.Find("autopurge.snapRetainCount")!;
            warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key,
                $"{AutopurgeSnapRetainCount} is below the minimum of {MinSnapRetainCount}; using {MinSnapRetainCount}"));
            AutopurgeSnapRetainCount = MinSnapRetainCount;
        }

        AutopurgePurgeInterval = values.Int("autopurge.purgeInterval");

        SnapCount = values.Int("snapCount");
        CommitLogCount = Math.Max(1, values.Int("commitLogCount"));
        SnapshotSizeFactor = values.Double("snapshotSizeFactor");
        if (SnapCount < 2)
        {
            var entry = values.Find("snapCount")!;
            warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key, $"{SnapCount} is below the minimum of 2; using 2"));
            SnapCount = 2;
        }

        values.Long("snapSizeLimitInKb");
        values.Long("txnLogSizeLimitInKb");
        PreAllocSize = values.Long("preAllocSize") * 1024;
        JuteMaxBuffer = values.Int("jute.maxbuffer");
        JuteMaxBufferExtraSize = values.Int("jute.maxbuffer.extrasize", JuteMaxBuffer);
        GlobalOutstandingLimit = values.Int("globalOutstandingLimit");
        ExtendedTypesEnabled = values.Bool("extendedTypesEnabled");
        ForceSync = values.YesNo("forceSync");
        SkipAcl = values.YesNo("skipACL");
        values.Bool("digest.enabled");
        SnapshotTrustEmpty = values.Bool("snapshot.trust.empty");
        DataDirAutoCreate = values.Bool("datadir.autocreate");
        ReadOnlyModeEnabled = values.Bool("readonlymode.enabled");
        LocalSessionsEnabled = values.Bool("localSessionsEnabled");
        LocalSessionsUpgradingEnabled = values.Bool("localSessionsUpgradingEnabled");
        ContainerCheckIntervalMs = values.Int("znode.container.checkIntervalMs");
        ContainerMaxPerMinute = values.Int("znode.container.maxPerMinute");
        ContainerMaxNeverUsedIntervalMs = values.Long("znode.container.maxNeverUsedIntervalMs");
        StandaloneEnabled = values.Bool("standaloneEnabled");
        ReconfigEnabled = values.Bool("reconfigEnabled");
        QuorumListenOnAllIPs = values.Bool("quorumListenOnAllIPs");
        values.Bool("syncEnabled");

        if (SkipAcl)
        {
            var entry = values.Find("skipACL")!;
            warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key, "ACL checks are off: every client may read and change every znode"));
        }

        if (values.Find("DigestAuthenticationProvider.superDigest") is { Value.Length: > 0 } superDigest)
        {
            SuperDigest = superDigest.Value;
            if (!LooksLikeDigest(superDigest.Value))
            {
                warnings.Add(new ConfigWarning(superDigest.File, superDigest.Line, superDigest.Key,
                    "is not user:base64(sha1(user:password)), so no password will ever match it"));
            }
        }
    }

    private static bool LooksLikeDigest(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        Span<byte> hash = stackalloc byte[32];
        return colon > 0 && Convert.TryFromBase64String(digest[(colon + 1)..], hash, out var length) && length == 20;
    }

    private void ReadFourLetterWords(ConfigValues values, List<ConfigWarning> warnings)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        if (values.Find("4lw.commands.whitelist") is { } entry)
        {
            foreach (var item in entry.Value.Split(','))
            {
                var word = PropertiesParser.JavaTrim(item);
                if (word == "*")
                {
                    words.UnionWith(ConfigKeys.FourLetterWords);
                    break;
                }

                if (word.Length == 0)
                {
                    continue;
                }

                if (ConfigKeys.FourLetterWords.Contains(word))
                {
                    words.Add(word);
                }
                else
                {
                    warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key, $"'{word}' is not a four-letter word; ignored"));
                }
            }
        }

        if (ReadOnlyModeEnabled)
        {
            words.Add("isro");
        }

        words.Add("srvr"); // Apache always answers srvr: zkServer.sh status depends on it.
        FourLetterWordWhitelist = words;
    }

    private static (ServerRole Role, ConfigEntry Entry)? ReadPeerType(ConfigValues values)
    {
        if (values.Find("peerType") is not { } entry)
        {
            return null;
        }

        return entry.Value.ToLowerInvariant() switch
        {
            "observer" => (ServerRole.Observer, entry),
            "participant" => (ServerRole.Participant, entry),
            _ => throw ConfigValues.Error(entry, $"'{entry.Value}' is not observer or participant"),
        };
    }

    private static bool IsServerKey(string key) => key.StartsWith("server.", StringComparison.Ordinal);

    /// <summary>Apache switches to hierarchical quorums on any key starting with group or weight.</summary>
    private static bool IsHierarchicalKey(string key) =>
        key.StartsWith("group", StringComparison.Ordinal) || key.StartsWith("weight", StringComparison.Ordinal);

    private void ReadQuorum(ConfigValues values, List<ConfigEntry> entries, string file, string baseDirectory,
        List<ConfigWarning> warnings, OrderedDictionary<string, string> raw)
    {
        MultiAddressEnabled = values.Bool("multiAddress.enabled");
        var staticLines = entries.Where(e => IsServerKey(e.Key) || IsHierarchicalKey(e.Key)).ToList();
        var version = values.Find("version");
        List<ConfigEntry> quorumLines;
        if (values.Find("dynamicConfigFile") is { Value.Length: > 0 } dynamic)
        {
            if (staticLines.Count > 0)
            {
                throw ConfigValues.Error(staticLines[0],
                    $"belongs in the dynamic configuration file ({dynamic.Value}, line {dynamic.Line}), not here");
            }

            DynamicConfigFile = Path.GetFullPath(dynamic.Value, baseDirectory);
            quorumLines = ReadDynamicFile(dynamic, DynamicConfigFile, warnings);
            foreach (var entry in quorumLines)
            {
                raw[entry.Key] = entry.Value;
            }

            QuorumConfigVersion = VersionFromFileName(dynamic.Value);
        }
        else
        {
            quorumLines = staticLines;
            QuorumConfigVersion = version is null ? 0 : ParseVersion(version);
        }

        var servers = new SortedDictionary<long, ServerSpec>();
        var lines = new Dictionary<long, ConfigEntry>();
        var endpoints = new Dictionary<(string Host, int Port), (long Id, string What)>();
        foreach (var entry in quorumLines)
        {
            if (IsHierarchicalKey(entry.Key))
            {
                throw ConfigValues.Error(entry, "hierarchical quorums (group and weight keys) are not supported by SharpKeeper");
            }

            var idText = entry.Key["server.".Length..];
            if (idText.Length == 0 || !long.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw ConfigValues.Error(entry, $"'{idText}' is not a server id (a non-negative number)");
            }

            var spec = ServerLine.Parse(id, entry, MultiAddressEnabled);
            if (lines.TryGetValue(id, out var earlier))
            {
                throw ConfigValues.Error(entry, $"server id {id} is already defined by {earlier.Key} at {Where(earlier, entry)}");
            }

            foreach (var (host, port, what) in Endpoints(spec))
            {
                if (endpoints.TryGetValue((host.ToLowerInvariant(), port), out var other))
                {
                    throw ConfigValues.Error(entry,
                        $"{what} {FormatEndpoint(host, port)} is already the {other.What} of server.{other.Id} ({Where(lines[other.Id], entry)})");
                }

                endpoints[(host.ToLowerInvariant(), port)] = (id, what);
            }

            lines[id] = entry;
            servers[id] = spec;
        }

        Servers = new ReadOnlyDictionary<long, ServerSpec>(servers);
        _serverLines = lines;
        CheckQuorumShape(file, warnings);
    }

    private static string Where(ConfigEntry earlier, ConfigEntry current) =>
        earlier.File == current.File ? $"line {earlier.Line}" : $"{earlier.File}:{earlier.Line}";

    private static string FormatEndpoint(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>The addresses a server listens on that no other server may share; wildcard client addresses are not compared, as in Apache.</summary>
    private static IEnumerable<(string Host, int Port, string What)> Endpoints(ServerSpec spec)
    {
        foreach (var server in spec.Addresses)
        {
            yield return (server.Host, server.QuorumPort, "quorum address");
            yield return (server.Host, server.ElectionPort, "election address");
        }

        if (spec.ClientPort is { } clientPort && spec.ClientAddress is { } address && !IsWildcard(address))
        {
            yield return (address, clientPort, "client address");
        }
    }

    private static bool IsWildcard(string? address) => address is null or "0.0.0.0" or "::" or "0:0:0:0:0:0:0:0";

    private static List<ConfigEntry> ReadDynamicFile(ConfigEntry dynamic, string path, List<ConfigWarning> warnings)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(dynamic.File, dynamic.Line, dynamic.Key, $"cannot read {path}: {e.Message}", e);
        }

        var entries = PropertiesParser.Parse(text, dynamic.Value, warnings);
        foreach (var entry in entries)
        {
            if (entry.Key == "version")
            {
                throw ConfigValues.Error(entry, "a dynamic configuration file must not hold a version: it comes from the file name");
            }

            if (!IsServerKey(entry.Key) && !IsHierarchicalKey(entry.Key))
            {
                throw ConfigValues.Error(entry, "only server.N lines belong in a dynamic configuration file");
            }
        }

        return entries;
    }

    /// <summary>zoo.cfg.dynamic.100000000 has version 0x100000000; a name without a hex suffix has version 0.</summary>
    private static long VersionFromFileName(string fileName)
    {
        var dot = fileName.LastIndexOf('.');
        var suffix = dot < 0 ? "" : fileName[(dot + 1)..];
        return suffix.Length is > 0 and <= 16
            && long.TryParse(suffix, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var version)
            && version >= 0
            ? version
            : 0;
    }

    private static long ParseVersion(ConfigEntry entry)
    {
        if (entry.Value.Length is 0 or > 16
            || !long.TryParse(entry.Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var version)
            || version < 0)
        {
            throw ConfigValues.Error(entry, $"'{entry.Value}' is not a configuration version (a hexadecimal number)");
        }

        return version;
    }

    /// <summary>QuorumPeerConfig.parseDynamicConfig's rules on how many participants and observers make sense.</summary>
    private void CheckQuorumShape(string file, List<ConfigWarning> warnings)
    {
        var participants = Servers.Values.Count(s => s.Role == ServerRole.Participant);
        var firstObserver = Servers.Values.FirstOrDefault(s => s.Role == ServerRole.Observer);
        if (participants == 0)
        {
            if (!StandaloneEnabled)
            {
                throw new ConfigException(file, 0, "standaloneEnabled", "standaloneEnabled=false needs at least one participant server.N line");
            }

            if (firstObserver is not null)
            {
                throw ConfigValues.Error(_serverLines[firstObserver.Id], "observers without participants make no ensemble");
            }
        }
        else if (participants == 1 && StandaloneEnabled)
        {
            var only = _serverLines[Servers.Values.First(s => s.Role == ServerRole.Participant).Id];
            if (firstObserver is not null)
            {
                throw ConfigValues.Error(_serverLines[firstObserver.Id],
                    "observers need at least two participants (or standaloneEnabled=false)");
            }

            warnings.Add(new ConfigWarning(only.File, only.Line, only.Key,
                "only one server is configured: running standalone and ignoring it (set standaloneEnabled=false for a one-server ensemble)"));
        }
        else
        {
            var first = _serverLines[Servers.Keys.First()];
            if (participants <= 2)
            {
                warnings.Add(new ConfigWarning(first.File, 0, "server.N",
                    $"{participants} participants tolerate no server failure; use at least 3"));
            }
            else if (participants % 2 == 0)
            {
                warnings.Add(new ConfigWarning(first.File, 0, "server.N",
                    $"{participants} participants tolerate no more failures than {participants - 1}; consider an odd number"));
            }
        }

        IsStandalone = StandaloneEnabled && participants <= 1;
    }

    /// <summary>myid holds this server's id. An ensemble member cannot start without one that names one of its servers.</summary>
    private void ReadMyId(string file)
    {
        if (Servers.Count == 0)
        {
            return;
        }

        var path = Path.Combine(DataDir, "myid");
        if (!File.Exists(path))
        {
            if (!IsStandalone)
            {
                throw new ConfigException(file, 0, "myid",
                    $"{path} is missing: each server of an ensemble needs a myid file holding its server id (the N of its server.N line)");
            }

            return;
        }

        string firstLine;
        try
        {
            using var reader = new StreamReader(path);
            firstLine = (reader.ReadLine() ?? "").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, "myid", $"cannot read it: {e.Message}", e);
        }

        if (!long.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            throw new ConfigException(path, 1, "myid", $"'{firstLine}' is not a server id (a non-negative number)");
        }

        if (!IsStandalone && !Servers.ContainsKey(id))
        {
            throw new ConfigException(path, 1, "myid",
                $"server id {id} matches no server.N line of {file} (ids: {string.Join(", ", Servers.Keys)})");
        }

        MyId = id;
    }

    /// <summary>
    /// This server's server.N line decides its role and, when it has a client part, its client address (which must
    /// then agree with clientPort and clientPortAddress, if those are set too).
    /// </summary>
    private void ApplyOwnServerLine(ConfigValues values, (ServerRole Role, ConfigEntry Entry)? requested, List<ConfigWarning> warnings)
    {
        var own = MyId is { } id && Servers.TryGetValue(id, out var spec) ? spec : null;
        PeerType = own?.Role ?? ServerRole.Participant;
        if (requested is { } peerType && peerType.Role != PeerType)
        {
            warnings.Add(new ConfigWarning(peerType.Entry.File, peerType.Entry.Line, peerType.Entry.Key,
                $"'{peerType.Entry.Value}' disagrees with the server list, which makes this server a {PeerType.ToString().ToLowerInvariant()}; the server list wins"));
        }

        if (own?.ClientPort is not { } ownPort)
        {
            return;
        }

        if (ClientPort is { } staticPort)
        {
            var ownAddress = own.ClientAddress ?? "0.0.0.0";
            var agrees = IsWildcard(ClientPortAddress)
                ? staticPort == ownPort
                : staticPort == ownPort && string.Equals(ClientPortAddress, ownAddress, StringComparison.OrdinalIgnoreCase);
            if (!agrees)
            {
                var blamed = values.Find("clientPort")!;
                var line = _serverLines[own.Id];
                throw ConfigValues.Error(blamed,
                    $"{FormatEndpoint(ClientPortAddress ?? "0.0.0.0", staticPort)} differs from the client address {FormatEndpoint(ownAddress, ownPort)} of {line.Key} ({line.File}:{line.Line})");
            }
        }

        ClientPort = ownPort;
        ClientPortAddress = own.ClientAddress;
    }

    private void CheckEnsembleNeeds(ConfigValues values, string file)
    {
        if (!IsStandalone)
        {
            foreach (var (key, value) in new[] { ("initLimit", InitLimit), ("syncLimit", SyncLimit) })
            {
                if (value == 0)
                {
                    var entry = values.Find(key);
                    throw new ConfigException(entry?.File ?? file, entry?.Line ?? 0, key,
                        $"{key} is not set: an ensemble needs it (in ticks; 10 and 5 are usual for initLimit and syncLimit)");
                }
            }
        }

        if (ExtendedTypesEnabled && MyId > MaxExtendedServerId)
        {
            var entry = values.Find("extendedTypesEnabled")!;
            throw ConfigValues.Error(entry, $"extendedTypesEnabled needs a server id of at most {MaxExtendedServerId}, and myid is {MyId}");
        }
    }

    private static void WarnAboutUnsupportedFeatures(ConfigValues values, List<ConfigEntry> entries, List<ConfigWarning> warnings)
    {
        void Warn(ConfigEntry? entry, string message)
        {
            if (entry is not null)
            {
                warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key, message));
            }
        }

        // Booleans Apache parses strictly even when it is unused here.


        // Features of Apache that SharpKeeper does not have yet: accepted, and said to be ignored.
        Warn(values.Find("digest.enabled") is { } digest && digest.Value.Trim().Equals("true", StringComparison.OrdinalIgnoreCase) ? digest : null,
            "SharpKeeper keeps no data tree digest; ignored");

        Warn(values.Find("syncEnabled") is { } sync && sync.Value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) ? sync : null,
            "learners always write their txn log to disk here; ignored");

        foreach (var key in new[] { "snapSizeLimitInKb", "txnLogSizeLimitInKb" })
        {
            Warn(values.Find(key), "snapshots are taken by snapCount and log files rolled with them; ignored");
        }

        Warn(values.Find("DigestAuthenticationProvider.digestAlg") is { Value: not ("" or "SHA1" or "SHA-1") } digestAlg ? digestAlg : null,
            "only SHA1 digests are supported by SharpKeeper; ignored");
        Warn(values.Find("snapshot.compression.method") is { Value.Length: > 0 } compression ? compression : null,
            "SharpKeeper writes uncompressed snapshots; ignored");
        Warn(values.Find("metricsProvider.className") is { Value: not ("" or DefaultMetricsProvider or PrometheusMetricsProvider) } metrics ? metrics : null,
            "metrics providers are Java classes SharpKeeper cannot load; ignored (the Prometheus provider is built in; mntr has the metrics)");

        foreach (var entry in entries.Where(e => e.Key.StartsWith("authProvider.", StringComparison.Ordinal)
            || e.Key.StartsWith(ConfigKeys.SystemPropertyPrefix + "authProvider.", StringComparison.Ordinal)))
        {
            values.Find(entry.Key);
            if (entry.Value is not (X509ProviderClass or SaslProviderClass))
            {
                Warn(entry, "authentication providers are Java classes SharpKeeper cannot load; ignored (digest, ip, world, x509 and sasl are built in)");
            }
        }
    }

    /// <summary>
    /// Keys no reader asked for: a key of the table that this configuration does not use is quiet,
    /// an ignored key of the table is warned about with its reason; any other is unknown, with the
    /// nearest key of the table as a suggestion.
    /// </summary>
    private static void WarnAboutUnknownKeys(List<ConfigEntry> entries, ConfigValues values, List<ConfigWarning> warnings)
    {
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (values.WasRead(entry.Key) || IsServerKey(entry.Key) || IsHierarchicalKey(entry.Key) || !reported.Add(entry.Key))
            {
                continue;
            }

            // A key of the table that this configuration does not use (TLS settings with TLS off): known, and quiet.
            var bare = entry.Key.StartsWith(ConfigKeys.SystemPropertyPrefix, StringComparison.Ordinal) ? entry.Key[ConfigKeys.SystemPropertyPrefix.Length..] : entry.Key;
            if (ConfigKeyTable.Find(entry.Key) is { } and not IgnoredKey || ConfigKeyTable.Find(bare) is { SystemProperty: true } and not IgnoredKey)
            {
                continue;
            }

            if (ConfigKeyTable.IgnoredBecause(entry.Key) is { } because)
            {
                // -D flags of SERVER_JVMFLAGS tune the JVM Apache runs on as often as ZooKeeper: only zoo.cfg's are worth a warning.
                if (entry.File is not (JvmFlags.ServerVariable or JvmFlags.CommonVariable))
                {
                    warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key, $"ignored: {because}"));
                }

                continue;
            }

            var suggestion = Suggest(entry.Key, ConfigKeyTable.All.Select(k => k.Name));
            warnings.Add(new ConfigWarning(entry.File, entry.Line, entry.Key,
                suggestion is null ? "unknown key; ignored" : $"unknown key; ignored (did you mean {suggestion}?)"));
        }
    }

    private static string? Suggest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known.Distinct())
        {
            var distance = string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase) ? 0 : EditDistance(key, candidate);
            if (distance < bestDistance || (distance == bestDistance && string.CompareOrdinal(candidate, best) < 0))
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= Math.Min(2, key.Length / 3) ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
