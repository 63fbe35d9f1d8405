using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// The four-letter words, with Apache ZooKeeper 3.8's output formats so existing monitoring
/// scripts parse them unchanged. Server state is read on the core thread for a consistent view.
/// </summary>
public sealed class FourLetterWordHandler(SharpKeeperServer server)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The serving mode as srvr/stat/mntr report it; the ensemble replaces this provider.</summary>
    public Func<string> Mode { get; set; } = () => "standalone";

    public Task<string> ExecuteAsync(string word)
    {
        if (!server.Config.IsFourLetterWordAllowed(word))
        {
            return Task.FromResult($"{word} is not executed because it is not in the whitelist.\n");
        }

        return word switch
        {
            "ruok" => Task.FromResult("imok"),
            "isro" => Task.FromResult("rw"),
            "gtmk" => Task.FromResult("0"),
            "srvr" => OnCore(() => Summary(withClients: false)),
            "stat" => OnCore(() => Summary(withClients: true)),
            "cons" => OnCore(Connections),
            "crst" => OnCore(ResetConnections),
            "srst" => OnCore(ResetServer),
            "mntr" => OnCore(Monitor),
            "wchs" => OnCore(WatchSummary),
            "wchc" => OnCore(() => WatchesBySession()),
            "wchp" => OnCore(WatchesByPath),
            "dump" => OnCore(Dump),
            "conf" => Task.FromResult(Conf()),
            "envi" => Task.FromResult(Environment()),
            "dirs" => Task.FromResult(Dirs()),
            _ => Task.FromResult($"Unknown command: {word}\n"),
        };
    }

    private Task<string> OnCore(Func<string> read) => server.Core.InvokeAsync(read);

    private ServerCore Core => server.Core;

    private string Summary(bool withClients)
    {
        var stats = Core.Stats;
        var text = new StringBuilder();
        text.Append(Invariant, $"Zookeeper version: {VersionInfo.Full}\n");
        if (withClients)
        {
            text.Append("Clients:\n");
            foreach (var connection in Core.Connections)
            {
                text.Append(Invariant, $" /{Endpoint(connection)}[1](queued=0,recved={connection.Stats.PacketsReceived},sent={connection.Stats.PacketsSent})\n");
            }

            text.Append('\n');
        }

        text.Append(Invariant, $"Latency min/avg/max: {MinLatency(stats)}/{Average(stats.AverageLatency)}/{stats.MaxLatency}\n");
        text.Append(Invariant, $"Received: {stats.PacketsReceived}\n");
        text.Append(Invariant, $"Sent: {stats.PacketsSent}\n");
        text.Append(Invariant, $"Connections: {Core.Connections.Count}\n");
        text.Append(Invariant, $"Outstanding: {stats.OutstandingRequests}\n");
        text.Append(Invariant, $"Zxid: 0x{Core.Tree.LastProcessedZxid:x}\n");
        text.Append(Invariant, $"Mode: {Mode()}\n");
        text.Append(Invariant, $"Node count: {Core.Tree.NodeCount}\n");
        return text.ToString();
    }

    private string Connections()
    {
        var text = new StringBuilder();
        var now = server.Clock.WallMillis;
        foreach (var connection in Core.Connections)
        {
            var s = connection.Stats;
            var timeout = Core.Sessions.Get(connection.SessionId)?.TimeoutMs ?? 0;
            var avg = s.LatencyCount == 0 ? 0 : s.TotalLatency / s.LatencyCount;
            var min = s.LatencyCount == 0 ? 0 : s.MinLatency;
            text.Append(Invariant, $" /{Endpoint(connection)}[1](queued=0,recved={s.PacketsReceived},sent={s.PacketsSent},sid=0x{connection.SessionId:x},lop={s.LastOperation},est={s.EstablishedWallMillis},to={timeout}");
            if (s.LastCxid >= 0)
            {
                text.Append(Invariant, $",lcxid=0x{s.LastCxid:x},lzxid=0x{s.LastZxid:x},lresp={now - s.LastResponseWallMillis},llat={s.LastLatency},minlat={min},avglat={avg},maxlat={s.MaxLatency}");
            }

            text.Append(")\n");
        }

        return text.Append('\n').ToString();
    }

    private string ResetConnections()
    {
        foreach (var connection in Core.Connections)
        {
            connection.Stats.Reset();
        }

        return "Connection stats reset.\n";
    }

    private string ResetServer()
    {
        Core.Stats.Reset();
        return "Server stats reset.\n";
    }

    private string Monitor()
    {
        var stats = Core.Stats;
        var tree = Core.Tree;
        var process = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        var lines = new List<(string Key, string Value)>
        {
            ("zk_version", VersionInfo.Full),
            ("zk_server_state", Mode()),
            ("zk_ephemerals_count", tree.EphemeralCount.ToString(Invariant)),
            ("zk_num_alive_connections", Core.Connections.Count.ToString(Invariant)),
            ("zk_avg_latency", Average(stats.AverageLatency)),
            ("zk_outstanding_requests", stats.OutstandingRequests.ToString(Invariant)),
            ("zk_znode_count", tree.NodeCount.ToString(Invariant)),
            ("zk_global_sessions", Core.Sessions.Count.ToString(Invariant)),
            ("zk_local_sessions", "0"),
            ("zk_packets_sent", stats.PacketsSent.ToString(Invariant)),
            ("zk_packets_received", stats.PacketsReceived.ToString(Invariant)),
            ("zk_watch_count", (tree.DataWatches.WatchCount + tree.ChildWatches.WatchCount).ToString(Invariant)),
            ("zk_min_latency", MinLatency(stats).ToString(Invariant)),
            ("zk_max_latency", stats.MaxLatency.ToString(Invariant)),
            ("zk_max_file_descriptor_count", MaxFileDescriptors()),
            ("zk_open_file_descriptor_count", OpenFileDescriptors()),
            ("zk_approximate_data_size", tree.ApproximateDataSize.ToString(Invariant)),
            ("zk_uptime", ((long)(DateTimeOffset.UtcNow - server.StartedAt).TotalMilliseconds).ToString(Invariant)),
            ("zk_data_dir_size", DirectorySize(server.Store.SnapshotDirectory).ToString(Invariant)),
            ("zk_log_dir_size", DirectorySize(server.Store.LogDirectory).ToString(Invariant)),
            ("zk_fsync_count", server.TxnLog.Fsyncs.ToString(Invariant)),
            ("zk_last_fsync_time_ms", server.TxnLog.LastFsyncMillis.ToString(Invariant)),
            ("zk_outstanding_txns", Core.OutstandingTxns.ToString(Invariant)),
            ("zk_heap_size_bytes", gc.HeapSizeBytes.ToString(Invariant)),
            ("zk_memory_resident_bytes", process.WorkingSet64.ToString(Invariant)),
            ("zk_gc_pause_percent", gc.PauseTimePercentage.ToString("0.###", Invariant)),
            ("zk_gc_pause_total_ms", ((long)GC.GetTotalPauseDuration().TotalMilliseconds).ToString(Invariant)),
        };
        var text = new StringBuilder();
        foreach (var (key, value) in lines)
        {
            text.Append(key).Append('\t').Append(value).Append('\n');
        }

        return text.ToString();
    }

    private string WatchSummary()
    {
        var tree = Core.Tree;
        var watchers = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var total = 0;
        foreach (var manager in new[] { tree.DataWatches, tree.ChildWatches })
        {
            foreach (var (watcher, watched) in manager.ByWatcher())
            {
                watchers.Add(watcher);
                paths.UnionWith(watched);
                total += watched.Count;
            }
        }

        return $"{watchers.Count} connections watching {paths.Count} paths\nTotal watches:{total}\n";
    }

    private string WatchesBySession()
    {
        var bySession = new SortedDictionary<long, SortedSet<string>>();
        foreach (var manager in new[] { Core.Tree.DataWatches, Core.Tree.ChildWatches })
        {
            foreach (var (watcher, paths) in manager.ByWatcher())
            {
                var sessionId = (watcher as IClientConnection)?.SessionId ?? 0;
                if (!bySession.TryGetValue(sessionId, out var set))
                {
                    set = new SortedSet<string>(StringComparer.Ordinal);
                    bySession[sessionId] = set;
                }

                set.UnionWith(paths);
            }
        }

        var text = new StringBuilder();
        foreach (var (sessionId, paths) in bySession)
        {
            text.Append(Invariant, $"0x{sessionId:x}\n");
            foreach (var path in paths)
            {
                text.Append('\t').Append(path).Append('\n');
            }
        }

        return text.Append('\n').ToString();
    }

    private string WatchesByPath()
    {
        var byPath = new SortedDictionary<string, SortedSet<long>>(StringComparer.Ordinal);
        foreach (var manager in new[] { Core.Tree.DataWatches, Core.Tree.ChildWatches })
        {
            foreach (var (path, watchers) in manager.ByPath())
            {
                if (!byPath.TryGetValue(path, out var set))
                {
                    set = [];
                    byPath[path] = set;
                }

                set.UnionWith(watchers.Select(w => (w as IClientConnection)?.SessionId ?? 0));
            }
        }

        var text = new StringBuilder();
        foreach (var (path, sessions) in byPath)
        {
            text.Append(path).Append('\n');
            foreach (var sessionId in sessions)
            {
                text.Append(Invariant, $"\t0x{sessionId:x}\n");
            }
        }

        return text.Append('\n').ToString();
    }

    private string Dump()
    {
        var text = new StringBuilder("SessionTracker dump:\n");
        var byExpiry = Core.Sessions.Sessions.GroupBy(s => s.ExpiresAt).OrderBy(g => g.Key).ToList();
        text.Append(Invariant, $"Session Sets ({byExpiry.Count})/({Core.Sessions.Count}):\n");
        var monotonicNow = server.Clock.MonotonicMillis;
        var wallNow = server.Clock.WallMillis;
        foreach (var group in byExpiry)
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds(wallNow + (group.Key - monotonicNow));
            text.Append(Invariant, $"{group.Count()} expire at {at.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", Invariant)}:\n");
            foreach (var session in group.OrderBy(s => s.Id))
            {
                text.Append(Invariant, $"\t0x{session.Id:x}\n");
            }
        }

        var ephemerals = Core.Tree.EphemeralsBySession.OrderBy(e => e.Key).ToList();
        text.Append("ephemeral nodes dump:\n");
        text.Append(Invariant, $"Sessions with Ephemerals ({ephemerals.Count}):\n");
        foreach (var (sessionId, paths) in ephemerals)
        {
            text.Append(Invariant, $"0x{sessionId:x}:\n");
            foreach (var path in paths.Order(StringComparer.Ordinal))
            {
                text.Append('\t').Append(path).Append('\n');
            }
        }

        text.Append("Connections dump:\n");
        text.Append(Invariant, $"Connections Sets (1)/({Core.Connections.Count}):\n");
        text.Append(Invariant, $"{Core.Connections.Count} connections:\n");
        foreach (var connection in Core.Connections)
        {
            text.Append(Invariant, $"\tip: /{Endpoint(connection)} sessionId: 0x{connection.SessionId:x}\n");
        }

        return text.ToString();
    }

    private string Conf()
    {
        var config = server.Config;
        var text = new StringBuilder();
        text.Append(Invariant, $"clientPort={server.ClientEndPoint?.Port ?? config.ClientPort ?? 2181}\n");
        text.Append("secureClientPort=-1\n");
        text.Append(Invariant, $"dataDir={server.Store.SnapshotDirectory}\n");
        text.Append(Invariant, $"dataDirSize={DirectorySize(server.Store.SnapshotDirectory)}\n");
        text.Append(Invariant, $"dataLogDir={server.Store.LogDirectory}\n");
        text.Append(Invariant, $"dataLogSize={DirectorySize(server.Store.LogDirectory)}\n");
        text.Append(Invariant, $"tickTime={config.TickTime}\n");
        text.Append(Invariant, $"maxClientCnxns={config.MaxClientCnxns}\n");
        text.Append(Invariant, $"minSessionTimeout={config.MinSessionTimeout}\n");
        text.Append(Invariant, $"maxSessionTimeout={config.MaxSessionTimeout}\n");
        text.Append("clientPortListenBacklog=-1\n");
        text.Append(Invariant, $"serverId={(config.IsStandalone ? 0 : config.MyId ?? 0)}\n");
        return text.ToString();
    }

    private static string Environment()
    {
        var text = new StringBuilder("Environment:\n");
        text.Append(Invariant, $"zookeeper.version={VersionInfo.Full}\n");
        text.Append(Invariant, $"host.name={Dns.GetHostName()}\n");
        text.Append(Invariant, $"java.version={System.Environment.Version}\n");
        text.Append(Invariant, $"java.vendor=.NET ({System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription})\n");
        text.Append(Invariant, $"java.home={Path.GetDirectoryName(typeof(object).Assembly.Location)}\n");
        text.Append(Invariant, $"java.class.path={AppContext.BaseDirectory}\n");
        text.Append("java.library.path=<NA>\n");
        text.Append(Invariant, $"java.io.tmpdir={Path.GetTempPath().TrimEnd('/')}\n");
        text.Append("java.compiler=<NA>\n");
        text.Append(Invariant, $"os.name={(OperatingSystem.IsLinux() ? "Linux" : System.Runtime.InteropServices.RuntimeInformation.OSDescription)}\n");
        text.Append(Invariant, $"os.arch={System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}\n");
        text.Append(Invariant, $"os.version={System.Environment.OSVersion.Version}\n");
        text.Append(Invariant, $"user.name={System.Environment.UserName}\n");
        text.Append(Invariant, $"user.home={System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile)}\n");
        text.Append(Invariant, $"user.dir={System.Environment.CurrentDirectory}\n");
        var gc = GC.GetGCMemoryInfo();
        text.Append(Invariant, $"os.memory.free={(gc.TotalAvailableMemoryBytes - gc.MemoryLoadBytes) / (1024 * 1024)}MB\n");
        text.Append(Invariant, $"os.memory.max={gc.TotalAvailableMemoryBytes / (1024 * 1024)}MB\n");
        text.Append(Invariant, $"os.memory.total={GC.GetTotalMemory(false) / (1024 * 1024)}MB\n");
        return text.ToString();
    }

    private string Dirs() =>
        $"datadir_size: {DirectorySize(server.Store.SnapshotDirectory)}\nlogdir_size: {DirectorySize(server.Store.LogDirectory)}\n";

    private static long DirectorySize(string directory) =>
        Directory.Exists(directory) ? new DirectoryInfo(directory).EnumerateFiles().Sum(f => f.Length) : 0;

    private static string Endpoint(IClientConnection connection) =>
        connection is Network.ClientConnection c ? $"{c.RemoteEndPoint.Address}:{c.RemoteEndPoint.Port}" : connection.RemoteAddress;

    private static long MinLatency(ServerStats stats) => stats.LatencyCount == 0 ? 0 : stats.MinLatency;

    /// <summary>Apache prints averages with up to four decimals ("2.3333", "0.0").</summary>
    private static string Average(double value)
    {
        var text = value.ToString("0.####", Invariant);
        return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
    }

    private static string OpenFileDescriptors() =>
        Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").Count().ToString(Invariant) : "0";

    private static string MaxFileDescriptors()
    {
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: >= 5 } ? parts[3] : "0";
        }
        catch (IOException)
        {
            return "0";
        }
    }
}
