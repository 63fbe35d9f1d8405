using System.Globalization;
using System.Net;
using System.Text;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Network;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// The four-letter words, with Apache ZooKeeper 3.8's output formats so existing monitoring
/// scripts and runbooks parse them unchanged. Server state is read on the core thread, so each
/// answer is one consistent view; file-system figures are gathered before, off the core thread.
/// </summary>
public sealed class FourLetterWordHandler(SharpKeeperServer server)
{
    /// <summary>What Apache answers while it is not serving (e.g. looking for a leader).</summary>
    public const string NotServing = "This ZooKeeper instance is not currently serving requests";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>How long a word waits for the core thread before answering that the server is not serving.</summary>
    private static readonly TimeSpan CoreTimeout = TimeSpan.FromSeconds(10);

    /// <summary>mntr's gauges in the order Apache ZooKeeper 3.8 prints them (its metrics map order) for a standalone server.</summary>
    private static readonly string[] GaugeOrder =
    [
        "ephemerals_count", "num_alive_connections", "avg_latency", "outstanding_requests", "znode_count", "global_sessions",
        "non_mtls_remote_conn_count", "last_client_response_size", "packets_sent", "packets_received", "max_client_response_size",
        "connection_drop_probability", "watch_count", "auth_failed_count", "min_latency", "max_file_descriptor_count",
        "approximate_data_size", "open_file_descriptor_count", "local_sessions", "uptime", "max_latency",
        "outstanding_tls_handshake", "min_client_response_size", "non_mtls_local_conn_count",
    ];

    private volatile IServerModeInfo _modeInfo = StandaloneModeInfo.Instance;

    /// <summary>The role this server reports (mode, serving, read-only, server id); the ensemble replaces the standalone one.</summary>
    public IServerModeInfo ModeInfo
    {
        get => _modeInfo;
        set => _modeInfo = value ?? throw new ArgumentNullException(nameof(value));
    }

    private ServerCore Core => server.Core;

    /// <summary>Answers a four-letter word: the full text written before the connection is closed.</summary>
    public Task<string> ExecuteAsync(string word) => ExecuteAsync(word, requester: null);

    /// <summary>
    /// As <see cref="ExecuteAsync(string)"/>; <paramref name="requester"/> is the asking connection's
    /// peer: as Apache, the word is counted as a packet that connection received, and cons and stat
    /// show it as not reading ("[0]").
    /// </summary>
    public async Task<string> ExecuteAsync(string word, IPEndPoint? requester)
    {
        // As Apache: the word counts as a packet received, whether or not it is whitelisted.
        Core.Stats.PacketReceived();
        if (requester is not null)
        {
            server.ClientConnections.FirstOrDefault(c => c.RemoteEndPoint.Equals(requester))?.Stats.PacketReceived();
        }

        if (!server.Config.IsFourLetterWordAllowed(word))
        {
            return $"{word} is not executed because it is not in the whitelist.\n";
        }

        // The words come from the same command table as the AdminServer's commands.
        return server.Commands.FindWord(word)?.Text is { } text ? await text(requester).ConfigureAwait(false) : "";
    }

    internal Task<string> IsReadOnlyText() =>
        OnCoreAsync(() => !ModeInfo.IsServing ? "null" : ModeInfo.IsReadOnly ? "ro" : "rw", "null");

    /// <summary>No digests are kept, so the digest log is empty, as Apache's is before any is recorded.</summary>
    internal Task<string> HashText() => OnCoreAsync(() => ModeInfo.IsServing ? "" : NotServing, NotServing);

    /// <summary>conf, with the directory sizes read here, not on the core thread.</summary>
    internal Task<string> ConfText()
    {
        var dataSize = ProcessFacts.DirectorySize(server.Store.SnapshotDirectory);
        var logSize = ProcessFacts.DirectorySize(server.Store.LogDirectory);
        return Serving(() => Conf(dataSize, logSize));
    }

    internal Task<string> DirsText()
    {
        var dataSize = ProcessFacts.DirectorySize(server.Store.SnapshotDirectory);
        var logSize = ProcessFacts.DirectorySize(server.Store.LogDirectory);
        return Serving(() => $"datadir_size: {dataSize}\nlogdir_size: {logSize}\n");
    }

    internal Task<string> MonitorText()
    {
        var openFds = ProcessFacts.OpenFileDescriptors();
        var maxFds = ProcessFacts.MaxFileDescriptors();
        return Serving(() => Monitor(openFds, maxFds));
    }

    /// <summary>Runs a report on the core thread when the server is serving; otherwise says it is not, as Apache does.</summary>
    internal Task<string> Serving(Func<string> report) =>
        OnCoreAsync(() => ModeInfo.IsServing ? report() : NotServing + "\n", NotServing + "\n");

    private async Task<string> OnCoreAsync(Func<string> report, string whenCoreIsGone)
    {
        try
        {
            return await Core.InvokeAsync(report).WaitAsync(CoreTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return whenCoreIsGone;
        }
    }

    // ---- srvr, stat, cons, crst, srst ----

    internal string Summary(bool withClients, IPEndPoint? requester)
    {
        var stats = Core.Stats;
        var mode = ModeInfo;
        var connections = OpenConnections();
        var text = new StringBuilder();
        text.Append("Zookeeper version: ").Append(VersionInfo.Full).Append('\n');
        if (mode.IsReadOnly)
        {
            text.Append("READ-ONLY mode; serving only read-only clients\n");
        }

        if (withClients)
        {
            text.Append("Clients:\n");
            foreach (var connection in connections)
            {
                AppendConnection(text, connection, brief: true, requester);
                text.Append('\n');
            }

            text.Append('\n');
        }

        text.Append(Invariant, $"Latency min/avg/max: {MinLatency(stats)}/{JavaText.Average(stats.AverageLatency)}/{stats.MaxLatency}\n");
        text.Append(Invariant, $"Received: {stats.PacketsReceived}\n");
        text.Append(Invariant, $"Sent: {stats.PacketsSent}\n");
        text.Append(Invariant, $"Connections: {connections.Count}\n");
        text.Append(Invariant, $"Outstanding: {stats.OutstandingRequests}\n");
        text.Append("Zxid: 0x").Append(JavaText.Hex(Core.Tree.LastProcessedZxid)).Append('\n');
        text.Append("Mode: ").Append(mode.Mode).Append('\n');
        text.Append(Invariant, $"Node count: {Core.Tree.NodeCount}\n");
        foreach (var line in mode.StatLines)
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }

    internal string Connections(IPEndPoint? requester)
    {
        var text = new StringBuilder();
        foreach (var connection in OpenConnections())
        {
            AppendConnection(text, connection, brief: false, requester);
            text.Append('\n');
        }

        return text.Append('\n').ToString();
    }

    /// <summary>One connection as Apache's ServerCnxn.dumpConnectionInfo prints it (without the newline).</summary>
    private void AppendConnection(StringBuilder text, IClientConnection connection, bool brief, IPEndPoint? requester)
    {
        var s = connection.Stats;

        // The interest set: 1 (reading) for every connection but the one asking, which stopped reading to answer.
        var interest = requester is not null && connection is ClientConnection c && c.RemoteEndPoint.Equals(requester) ? "0" : "1";
        text.Append(' ').Append(Address(connection)).Append('[').Append(interest).Append(']');
        text.Append(Invariant, $"(queued={Math.Max(0, s.Outstanding)},recved={s.PacketsReceived},sent={s.PacketsSent}");
        var sessionId = connection.SessionId;
        if (!brief && sessionId != 0)
        {
            var timeout = Core.Sessions.Get(sessionId)?.TimeoutMs ?? (connection as ClientConnection)?.NegotiatedTimeout ?? 0;
            text.Append(",sid=0x").Append(JavaText.Hex(sessionId));
            text.Append(",lop=").Append(s.LastOperation);
            text.Append(Invariant, $",est={s.EstablishedWallMillis},to={timeout}");
            if (s.LastCxid >= 0)
            {
                text.Append(",lcxid=0x").Append(JavaText.Hex(s.LastCxid));
            }

            text.Append(",lzxid=0x").Append(JavaText.Hex(s.LastZxid));
            text.Append(Invariant, $",lresp={LastResponseElapsedMillis(s)},llat={s.LastLatency}");
            text.Append(Invariant, $",minlat={(s.LatencyCount == 0 ? 0 : s.MinLatency)}");
            text.Append(Invariant, $",avglat={(s.LatencyCount == 0 ? 0 : s.TotalLatency / s.LatencyCount)},maxlat={s.MaxLatency}");
        }

        text.Append(')');
    }

    /// <summary>
    /// Apache prints the last response time on its monotonic clock (Time.currentElapsedTime), not as a
    /// date; the core records wall time, so it is moved onto the monotonic clock. 0 before any response.
    /// </summary>
    internal long LastResponseElapsedMillis(ConnectionStats stats)
    {
        if (stats.LastResponseWallMillis == 0)
        {
            return 0;
        }

        var clock = Core.Clock;
        return stats.LastResponseWallMillis - clock.WallMillis + clock.MonotonicMillis;
    }

    internal string ResetConnections()
    {
        foreach (var connection in OpenConnections())
        {
            connection.Stats.Reset();

            // Apache's reset clears the last response time too.
            connection.Stats.LastResponseWallMillis = 0;
        }

        return "Connection stats reset.\n";
    }

    internal string ResetServer()
    {
        Core.Stats.Reset();
        server.TxnLog.FsyncTime.Reset();
        server.SnapshotTime.Reset();
        server.GcPauses.Pauses.Reset();
        return "Server stats reset.\n";
    }

    // ---- mntr ----

    private string Monitor(long openFileDescriptors, long maxFileDescriptors)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in MonitorEntries(openFileDescriptors, maxFileDescriptors))
        {
            AppendMonitor(text, key, value);
        }

        return text.ToString();
    }

    /// <summary>
    /// mntr's keys (without zk_) and values in Apache's order; the monitor admin command shows the
    /// same. Runs on the core thread.
    /// </summary>
    public List<(string Key, string Value)> MonitorEntries(long openFileDescriptors, long maxFileDescriptors)
    {
        var stats = Core.Stats;
        var tree = Core.Tree;
        var mode = ModeInfo;
        var gauges = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ephemerals_count"] = tree.EphemeralCount.ToString(Invariant),
            ["num_alive_connections"] = OpenConnections().Count.ToString(Invariant),
            ["avg_latency"] = JavaText.Average(stats.AverageLatency),
            ["outstanding_requests"] = stats.OutstandingRequests.ToString(Invariant),
            ["znode_count"] = tree.NodeCount.ToString(Invariant),
            ["global_sessions"] = Core.Sessions.Count.ToString(Invariant),

            // No TLS port: no connections of either kind.
            ["non_mtls_remote_conn_count"] = "0",
            ["non_mtls_local_conn_count"] = "0",
            ["outstanding_tls_handshake"] = "0",
            ["packets_sent"] = stats.PacketsSent.ToString(Invariant),
            ["last_client_response_size"] = stats.LastResponseSize.ToString(Invariant),
            ["min_client_response_size"] = stats.MinResponseSize.ToString(Invariant),
            ["max_client_response_size"] = stats.MaxResponseSize.ToString(Invariant),
            ["auth_failed_count"] = stats.AuthFailures.Value.ToString(Invariant),
            ["packets_received"] = stats.PacketsReceived.ToString(Invariant),

            // No connection throttling: nothing is dropped.
            ["connection_drop_probability"] = JavaText.Double(0),
            ["watch_count"] = (tree.DataWatches.WatchCount + tree.ChildWatches.WatchCount).ToString(Invariant),
            ["min_latency"] = MinLatency(stats).ToString(Invariant),
            ["max_file_descriptor_count"] = maxFileDescriptors.ToString(Invariant),
            ["approximate_data_size"] = tree.ApproximateDataSize.ToString(Invariant),
            ["open_file_descriptor_count"] = openFileDescriptors.ToString(Invariant),

            // Local sessions are not supported: every session is global.
            ["local_sessions"] = Core.LocalSessions.Count.ToString(Invariant),
            ["uptime"] = ((long)(DateTimeOffset.UtcNow - server.StartedAt).TotalMilliseconds).ToString(Invariant),
            ["max_latency"] = stats.MaxLatency.ToString(Invariant),
        };

        var text = new List<(string Key, string Value)>();
        AppendMonitor(text, "version", VersionInfo.Full);
        AppendMonitor(text, "server_state", mode.Mode);
        foreach (var (key, value) in mode.MonitorValues)
        {
            AppendMonitor(text, key, value);
        }

        foreach (var key in GaugeOrder)
        {
            if (gauges.Remove(key, out var value))
            {
                AppendMonitor(text, key, value);
            }
        }

        // The store's timings, as Apache's summary metrics print them (after the gauges).
        AppendSummary(text, server.TxnLog.FsyncTime);
        AppendSummary(text, server.SnapshotTime);

        // Bad input, counted in full even when its log lines are rate-limited: connections refused
        // by maxClientCnxns (Apache's name) and frames that closed their connection.
        AppendMonitor(text, "connection_rejected", stats.RejectedConnections.ToString(Invariant));
        AppendMonitor(text, "rejected_frames", stats.RejectedFrames.ToString(Invariant));

        // The runtime's memory: garbage-collection pauses, the managed heap, and every byte
        // allocated since start (the difference over a load divided by its requests is the
        // allocation per request).
        AppendSummary(text, server.GcPauses.Pauses);
        AppendMonitor(text, "heap_bytes", GC.GetTotalMemory(forceFullCollection: false).ToString(Invariant));
        AppendMonitor(text, "allocated_bytes", GC.GetTotalAllocatedBytes(precise: false).ToString(Invariant));
        return text;
    }

    private static void AppendSummary(List<(string Key, string Value)> text, MetricSummary summary)
    {
        var (count, sum, min, max) = summary.Read();
        AppendMonitor(text, "avg_" + summary.Name, JavaText.Average(count == 0 ? 0 : (double)sum / count));
        AppendMonitor(text, "min_" + summary.Name, min.ToString(Invariant));
        AppendMonitor(text, "max_" + summary.Name, max.ToString(Invariant));
        AppendMonitor(text, "cnt_" + summary.Name, count.ToString(Invariant));
        AppendMonitor(text, "sum_" + summary.Name, sum.ToString(Invariant));
    }

    private static void AppendMonitor(StringBuilder text, string key, string value) =>
        text.Append("zk_").Append(key).Append('\t').Append(value).Append('\n');

    private static void AppendMonitor(List<(string Key, string Value)> entries, string key, string value) => entries.Add((key, value));

    // ---- wchs, wchc, wchp: as Apache, these report the data watches (getData, exists, persistent), not child watches ----

    internal string WatchSummary()
    {
        var watches = Core.Tree.DataWatches;
        var watchers = 0;
        var total = 0;
        foreach (var (_, paths) in watches.ByWatcher())
        {
            watchers++;
            total += paths.Count;
        }

        return $"{watchers} connections watching {watches.PathCount} paths\nTotal watches:{total}\n";
    }

    internal string WatchesBySession()
    {
        var text = new StringBuilder();
        foreach (var (watcher, paths) in Core.Tree.DataWatches.ByWatcher().OrderBy(w => SessionOf(w.Watcher)))
        {
            text.Append("0x").Append(JavaText.Hex(SessionOf(watcher))).Append('\n');
            foreach (var path in paths.Order(StringComparer.Ordinal))
            {
                text.Append('\t').Append(path).Append('\n');
            }
        }

        return text.Append('\n').ToString();
    }

    internal string WatchesByPath()
    {
        var text = new StringBuilder();
        foreach (var (path, watchers) in Core.Tree.DataWatches.ByPath().OrderBy(p => p.Path, StringComparer.Ordinal))
        {
            text.Append(path).Append('\n');
            foreach (var sessionId in watchers.Select(SessionOf).Order())
            {
                text.Append("\t0x").Append(JavaText.Hex(sessionId)).Append('\n');
            }
        }

        return text.Append('\n').ToString();
    }

    private static long SessionOf(IWatcher watcher) => (watcher as IClientConnection)?.SessionId ?? 0;

    // ---- dump ----

    internal string Dump()
    {
        var clock = Core.Clock;
        var wallNow = clock.WallMillis;
        var monotonicNow = clock.MonotonicMillis;
        string ExpiryDate(long monotonic) => JavaText.Date(wallNow + (monotonic - monotonicNow));

        var text = new StringBuilder("SessionTracker dump:\n");

        // Expiry buckets of live sessions; a session already expiring has left its bucket but is still tracked.
        var sessions = Core.Sessions;
        var buckets = sessions.Sessions.Where(s => !s.IsClosing).GroupBy(s => s.ExpiresAt).OrderBy(g => g.Key).ToList();
        text.Append(Invariant, $"Session Sets ({buckets.Count})/({sessions.Count}):\n");
        foreach (var bucket in buckets)
        {
            text.Append(Invariant, $"{bucket.Count()} expire at {ExpiryDate(bucket.Key)}:\n");
            foreach (var session in bucket.OrderBy(s => s.Id))
            {
                text.Append("\t0x").Append(JavaText.Hex(session.Id)).Append('\n');
            }
        }

        text.Append("ephemeral nodes dump:\n");
        var ephemerals = Core.Tree.EphemeralsBySession;
        text.Append(Invariant, $"Sessions with Ephemerals ({ephemerals.Count}):\n");
        foreach (var (sessionId, paths) in ephemerals.OrderBy(e => e.Key))
        {
            text.Append("0x").Append(JavaText.Hex(sessionId)).Append(":\n");
            foreach (var path in paths.Order(StringComparer.Ordinal))
            {
                text.Append('\t').Append(path).Append('\n');
            }
        }

        // A connection is closed when its session expires, so it is listed under its session's expiry;
        // connections without a session have no idle expiry here and are not listed.
        text.Append("Connections dump:\n");
        var expiring = OpenConnections()
            .Select(c => (Connection: c, Session: c.SessionId == 0 ? null : sessions.Get(c.SessionId)))
            .Where(x => x.Session is { IsClosing: false })
            .GroupBy(x => x.Session!.ExpiresAt)
            .OrderBy(g => g.Key)
            .ToList();
        text.Append(Invariant, $"Connections Sets ({expiring.Count})/({expiring.Sum(g => g.Count())}):\n");
        foreach (var bucket in expiring)
        {
            text.Append(Invariant, $"{bucket.Count()} expire at {ExpiryDate(bucket.Key)}:\n");
            foreach (var (connection, _) in bucket)
            {
                text.Append("\tip: ").Append(Address(connection)).Append(" sessionId: 0x").Append(JavaText.Hex(connection.SessionId)).Append('\n');
            }
        }

        return text.ToString();
    }

    // ---- conf ----

    private string Conf(long dataDirSize, long dataLogSize)
    {
        var options = Core.Options;
        var text = new StringBuilder();
        text.Append(Invariant, $"clientPort={server.ClientEndPoint?.Port ?? server.Config.ClientPort ?? 0}\n");

        text.Append(Invariant, $"secureClientPort={server.SecureClientEndPoint?.Port ?? -1}\n");
        text.Append("dataDir=").Append(Path.GetFullPath(server.Store.SnapshotDirectory)).Append('\n');
        text.Append(Invariant, $"dataDirSize={dataDirSize}\n");
        text.Append("dataLogDir=").Append(Path.GetFullPath(server.Store.LogDirectory)).Append('\n');
        text.Append(Invariant, $"dataLogSize={dataLogSize}\n");
        text.Append(Invariant, $"tickTime={options.TickTimeMs}\n");
        text.Append(Invariant, $"maxClientCnxns={server.Config.MaxClientCnxns}\n");
        text.Append(Invariant, $"minSessionTimeout={options.MinSessionTimeoutMs}\n");
        text.Append(Invariant, $"maxSessionTimeout={options.MaxSessionTimeoutMs}\n");

        // The listen backlog is not configurable here: -1 is Apache's "the default".
        text.Append("clientPortListenBacklog=-1\n");
        text.Append(Invariant, $"serverId={ModeInfo.ServerId}\n");
        ModeInfo.AppendConf(text);
        return text.ToString();
    }

    // ---- helpers ----

    /// <summary>
    /// The open connections as Apache's connection factory holds them: every accepted socket, with or
    /// without a session (the asking one too), in the order they were accepted.
    /// </summary>
    internal List<IClientConnection> OpenConnections()
    {
        IEnumerable<IClientConnection> connections = server.ClientEndPoint is null ? Core.Connections : server.ClientConnections;
        return [.. connections.Where(c => !c.IsClosed).OrderBy(c => c.ConnectionId)];
    }

    private static string Address(IClientConnection connection) =>
        connection is ClientConnection c ? JavaText.SocketAddress(c.RemoteEndPoint) : "/" + connection.RemoteAddress;

    internal static long MinLatency(ServerStats stats) => stats.LatencyCount == 0 ? 0 : stats.MinLatency;
}
