using System.Globalization;
using System.Text;

namespace SharpKeeper.Server.Config;

/// <summary>
/// A parsed zoo.cfg: the keys Apache ZooKeeper 3.8 reads, with its defaults and validation. A bad
/// value is a <see cref="ConfigException"/> naming file, line and key; an unknown key is a warning.
/// </summary>
public sealed class ServerConfig
{
    public const int DefaultTickTime = 3000;

    /// <summary>Keys Apache accepts that this server reads no value from (yet); they are not warned about.</summary>
    private static readonly HashSet<string> AcceptedKeys = new(StringComparer.Ordinal)
    {
        "admin.enableServer", "admin.serverPort", "admin.serverAddress", "admin.commandURL", "admin.idleTimeout",
        "electionAlg", "standaloneEnabled", "reconfigEnabled", "quorumListenOnAllIPs", "syncEnabled",
        "localSessionsEnabled", "localSessionsUpgradingEnabled", "maxCnxns", "metricsProvider.className",
        "audit.enable", "snapSizeLimitInKb", "txnLogSizeLimitInKb", "dynamicConfigFile", "leaderServes",
        "cnxTimeout", "connectToLearnerMasterLimit", "clientPortListenBacklog", "secureClientPort",
        "secureClientPortAddress", "serverCnxnFactory", "authProvider.1", "zookeeper.snapshot.trust.empty",
        "snapshot.trust.empty", "multiAddress.enabled", "sslQuorum", "portUnification", "fsync.warningthresholdms",
        "zookeeper.fsync.warningthresholdms", "initLimit", "syncLimit", "peerType", "quorum.auth.enableSasl",
        "skipACL", "4lw.commands.whitelist", "digest.enabled", "zookeeper.digest.enabled", "maxBatchSize",
        "autoCreateDB", "ipReachableTimeout", "tcpKeepAlive", "znode.container.maxNeverUsedIntervalMs",
    };

    private readonly HashSet<string> _fourLetterWords;
    private readonly bool _allFourLetterWords;

    private ServerConfig(string? sourceFile, Dictionary<string, (string Value, int Line)> values, List<ConfigWarning> warnings, string file)
    {
        SourceFile = sourceFile;
        Raw = values.ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);
        Warnings = warnings;
        var reader = new ValueReader(file, values);

        TickTime = reader.Int("tickTime", DefaultTickTime, min: 1);
        InitLimit = reader.Int("initLimit", 10, min: 1);
        SyncLimit = reader.Int("syncLimit", 5, min: 1);
        DataDir = reader.Path("dataDir") ?? throw new ConfigException(file, 0, "dataDir", "dataDir is not set");
        DataLogDir = reader.Path("dataLogDir") ?? DataDir;
        ClientPort = values.ContainsKey("clientPort") ? reader.Int("clientPort", 2181, min: 0, max: 65535) : null;
        ClientPortAddress = reader.String("clientPortAddress");
        MaxClientCnxns = reader.Int("maxClientCnxns", 60, min: 0);
        MinSessionTimeout = reader.Int("minSessionTimeout", -1, min: -1) is var min && min == -1 ? TickTime * 2 : min;
        MaxSessionTimeout = reader.Int("maxSessionTimeout", -1, min: -1) is var max && max == -1 ? TickTime * 20 : max;
        if (MinSessionTimeout > MaxSessionTimeout)
        {
            var line = values.TryGetValue("minSessionTimeout", out var v) ? v.Line : values.GetValueOrDefault("maxSessionTimeout").Line;
            throw new ConfigException(file, line, "minSessionTimeout", $"minSessionTimeout ({MinSessionTimeout}) must not be larger than maxSessionTimeout ({MaxSessionTimeout})");
        }

        var whitelist = reader.String("4lw.commands.whitelist") ?? "srvr";
        _fourLetterWords = new HashSet<string>(
            whitelist.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
        _allFourLetterWords = _fourLetterWords.Contains("*");

        var retain = reader.Int("autopurge.snapRetainCount", 3, min: 0);
        if (retain < 3)
        {
            warnings.Add(new ConfigWarning(file, values["autopurge.snapRetainCount"].Line, "autopurge.snapRetainCount", $"{retain} is below the minimum of 3; using 3"));
            retain = 3;
        }

        AutopurgeSnapRetainCount = retain;
        AutopurgePurgeInterval = reader.Int("autopurge.purgeInterval", 0, min: 0);
        SnapCount = reader.Int(reader.Either("snapCount", "zookeeper.snapCount"), 100000, min: 2);
        PreAllocSize = reader.Long(reader.Either("preAllocSize", "zookeeper.preAllocSize"), 65536, min: 1) * 1024;
        JuteMaxBuffer = reader.Int("jute.maxbuffer", 0xFFFFF, min: 1);
        GlobalOutstandingLimit = reader.Int(reader.Either("globalOutstandingLimit", "zookeeper.globalOutstandingLimit"), 1000, min: 1);
        ExtendedTypesEnabled = reader.Bool(reader.Either("extendedTypesEnabled", "zookeeper.extendedTypesEnabled"), false);
        ForceSync = reader.YesNo(reader.Either("forceSync", "zookeeper.forceSync"), true);
        SuperDigest = reader.String(reader.Either("DigestAuthenticationProvider.superDigest", "zookeeper.DigestAuthenticationProvider.superDigest"));
        ContainerCheckIntervalMs = reader.Int(reader.Either("znode.container.checkIntervalMs", "zookeeper.znode.container.checkIntervalMs"), 60000, min: 1);
        ContainerMaxPerMinute = reader.Int(reader.Either("znode.container.maxPerMinute", "zookeeper.znode.container.maxPerMinute"), 10000, min: 1);
        if (values.TryGetValue("peerType", out var peerType) && peerType.Value is not ("observer" or "participant"))
        {
            throw new ConfigException(file, peerType.Line, "peerType", $"'{peerType.Value}' is not observer or participant");
        }

        Servers = ParseServers(file, values);
        if (Servers.Count > 0)
        {
            MyId = ReadMyId(file);
        }

        foreach (var (key, (_, line)) in values)
        {
            if (!reader.Used.Contains(key) && !AcceptedKeys.Contains(key) && !IsDynamicKey(key))
            {
                warnings.Add(new ConfigWarning(file, line, key, "unknown configuration key, ignored"));
            }
        }
    }

    public string? SourceFile { get; }
    public int TickTime { get; }
    public int InitLimit { get; }
    public int SyncLimit { get; }
    public string DataDir { get; }
    public string DataLogDir { get; }
    public int? ClientPort { get; }
    public string? ClientPortAddress { get; }
    public int MaxClientCnxns { get; }
    public int MinSessionTimeout { get; }
    public int MaxSessionTimeout { get; }
    public IReadOnlySet<string> FourLetterWordWhitelist => _fourLetterWords;
    public int AutopurgeSnapRetainCount { get; }
    public int AutopurgePurgeInterval { get; }
    public int SnapCount { get; }

    /// <summary>Bytes to preallocate per log file (the key is in KB).</summary>
    public long PreAllocSize { get; }

    public int JuteMaxBuffer { get; }
    public int GlobalOutstandingLimit { get; }
    public bool ExtendedTypesEnabled { get; }
    public bool ForceSync { get; }
    public string? SuperDigest { get; }
    public int ContainerCheckIntervalMs { get; }
    public int ContainerMaxPerMinute { get; }
    public IReadOnlyDictionary<long, ServerSpec> Servers { get; }
    public long? MyId { get; }
    public bool IsStandalone => Servers.Count <= 1;
    public IReadOnlyList<ConfigWarning> Warnings { get; }

    /// <summary>Every key as written, for the conf and envi words.</summary>
    public IReadOnlyDictionary<string, string> Raw { get; }

    public bool DataDirIsUnderTmp => IsUnderTmp(DataDir) || IsUnderTmp(DataLogDir);

    public bool IsFourLetterWordAllowed(string word) => _allFourLetterWords || _fourLetterWords.Contains(word);

    public static ServerConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException(path, 0, "file", "configuration file does not exist");
        }

        return Parse(File.ReadAllText(path), System.IO.Path.GetFullPath(path));
    }

    public static ServerConfig Parse(string text, string sourceName)
    {
        var warnings = new List<ConfigWarning>();
        var values = ReadProperties(text, sourceName, warnings);
        return new ServerConfig(sourceName, values, warnings, sourceName);
    }

    /// <summary>The built-in standalone configuration: 127.0.0.1:2181, data under the working directory, monitoring words on.</summary>
    public static ServerConfig EmbeddedDefault(string workingDirectory)
    {
        var text = $"""
            tickTime=2000
            dataDir={System.IO.Path.Combine(workingDirectory, "data")}
            clientPort=2181
            clientPortAddress=127.0.0.1
            maxClientCnxns=60
            4lw.commands.whitelist=*
            autopurge.snapRetainCount=3
            autopurge.purgeInterval=1
            """;
        var warnings = new List<ConfigWarning>();
        return new ServerConfig(null, ReadProperties(text, "(embedded default)", warnings), warnings, "(embedded default)");
    }

    private static bool IsUnderTmp(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return full == "/tmp" || full.StartsWith("/tmp/", StringComparison.Ordinal);
    }

    private static bool IsDynamicKey(string key) =>
        key.StartsWith("server.", StringComparison.Ordinal) || key.StartsWith("group.", StringComparison.Ordinal) || key.StartsWith("weight.", StringComparison.Ordinal);

    /// <summary>java.util.Properties syntax: key=value, key: value or key value; # and ! comments; trailing \ continues a line.</summary>
    private static Dictionary<string, (string Value, int Line)> ReadProperties(string text, string file, List<ConfigWarning> warnings)
    {
        var values = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNumber = i + 1;
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }

            var logical = new StringBuilder();
            while (line.EndsWith('\\') && i + 1 < lines.Length)
            {
                logical.Append(line[..^1]);
                line = lines[++i].Trim();
            }

            logical.Append(line);
            var entry = logical.ToString();
            var separator = entry.IndexOfAny(['=', ':', ' ', '\t']);
            var key = (separator < 0 ? entry : entry[..separator]).Trim();
            var value = separator < 0 ? "" : entry[(separator + 1)..].Trim();
            if (separator >= 0 && entry[separator] is ' ' or '\t' && value.Length > 0 && value[0] is '=' or ':')
            {
                value = value[1..].Trim();
            }

            if (values.ContainsKey(key))
            {
                warnings.Add(new ConfigWarning(file, lineNumber, key, "set more than once; the last value wins"));
            }

            values[key] = (value, lineNumber);
        }

        return values;
    }

    private static Dictionary<long, ServerSpec> ParseServers(string file, Dictionary<string, (string Value, int Line)> values)
    {
        var servers = new Dictionary<long, ServerSpec>();
        var endpoints = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, (value, line)) in values.OrderBy(kv => kv.Value.Line))
        {
            if (!key.StartsWith("server.", StringComparison.Ordinal))
            {
                continue;
            }

            if (!long.TryParse(key.AsSpan("server.".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 0)
            {
                throw new ConfigException(file, line, key, $"'{key[7..]}' is not a server id (a non-negative number)");
            }

            var spec = ServerLine.Parse(id, value, file, line, key);
            if (!servers.TryAdd(id, spec))
            {
                throw new ConfigException(file, line, key, $"server id {id} is defined twice");
            }

            foreach (var endpoint in new[] { $"{spec.Host}:{spec.QuorumPort}", $"{spec.Host}:{spec.ElectionPort}" })
            {
                if (endpoints.TryGetValue(endpoint, out var other) && other != id)
                {
                    throw new ConfigException(file, line, key, $"address {endpoint} is already used by server.{other}");
                }

                endpoints[endpoint] = id;
            }

            if (spec.QuorumPort == spec.ElectionPort)
            {
                throw new ConfigException(file, line, key, "the quorum port and the election port must differ");
            }
        }

        if (servers.Count > 0)
        {
            foreach (var required in new[] { "initLimit", "syncLimit" })
            {
                if (!values.ContainsKey(required))
                {
                    throw new ConfigException(file, 0, required, $"{required} must be set when server.N lines are configured");
                }
            }
        }

        return servers;
    }

    private long ReadMyId(string file)
    {
        var path = System.IO.Path.Combine(DataDir, "myid");
        if (!File.Exists(path))
        {
            throw new ConfigException(file, 0, "myid", $"{path} is missing: each server of an ensemble needs a myid file holding its server id");
        }

        var text = File.ReadAllText(path).Trim();
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            throw new ConfigException(path, 1, "myid", $"'{text}' is not a server id");
        }

        if (!Servers.ContainsKey(id))
        {
            throw new ConfigException(path, 1, "myid", $"myid {id} matches no server.N line in {file}");
        }

        return id;
    }

    /// <summary>Typed reads of values, each error naming file, line and key; records which keys were read.</summary>
    private sealed class ValueReader(string file, Dictionary<string, (string Value, int Line)> values)
    {
        public HashSet<string> Used { get; } = new(StringComparer.Ordinal);

        public string Either(string key, string alternative) => values.ContainsKey(key) || !values.ContainsKey(alternative) ? Use(key, alternative) : Use(alternative, key);

        private string Use(string key, string other)
        {
            Used.Add(other);
            return key;
        }

        public string? String(string key)
        {
            Used.Add(key);
            return values.TryGetValue(key, out var v) && v.Value.Length > 0 ? v.Value : null;
        }

        public string? Path(string key) => String(key) is { } path ? System.IO.Path.GetFullPath(path) : null;

        public int Int(string key, int fallback, int min = int.MinValue, int max = int.MaxValue) => (int)Long(key, fallback, min, max);

        public long Long(string key, long fallback, long min = long.MinValue, long max = long.MaxValue)
        {
            Used.Add(key);
            if (!values.TryGetValue(key, out var v))
            {
                return fallback;
            }

            if (!long.TryParse(v.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                throw new ConfigException(file, v.Line, key, $"'{v.Value}' is not a number");
            }

            if (number < min || number > max)
            {
                throw new ConfigException(file, v.Line, key, max == long.MaxValue || max == int.MaxValue
                    ? $"{number} is below the minimum of {min}"
                    : $"{number} is outside {min}..{max}");
            }

            return number;
        }

        public bool Bool(string key, bool fallback)
        {
            Used.Add(key);
            if (!values.TryGetValue(key, out var v))
            {
                return fallback;
            }

            return v.Value.ToLowerInvariant() switch
            {
                "true" or "yes" => true,
                "false" or "no" => false,
                _ => throw new ConfigException(file, v.Line, key, $"'{v.Value}' is not true or false"),
            };
        }

        public bool YesNo(string key, bool fallback) => Bool(key, fallback);
    }
}
