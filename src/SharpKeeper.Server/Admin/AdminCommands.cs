using System.Globalization;
using System.Net;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// One server command: its AdminServer name, the aliases it also answers to there, and its JSON
/// report; when it is also a four-letter word, the word and its text answer.
/// </summary>
public sealed record AdminCommand(string Name, IReadOnlyList<string> Aliases, bool NeedsServing, Func<IReadOnlyDictionary<string, string>, Task<List<KeyValuePair<string, object?>>>> Run)
{
    public AdminCommand(string name, IReadOnlyList<string> aliases, bool needsServing, Func<Task<List<KeyValuePair<string, object?>>>> run)
        : this(name, aliases, needsServing, _ => run())
    {
    }

    /// <summary>The four-letter word on the client port, if the command has one.</summary>
    public string? Word { get; init; }

    /// <summary>The word's text answer for the asking connection's peer (null when asked from elsewhere).</summary>
    public Func<IPEndPoint?, Task<string>>? Text { get; init; }

    /// <summary>The HTTP method the command takes (restore is POSTed).</summary>
    public string Method { get; init; } = "GET";

    /// <summary>Whether the Authorization header must authenticate ids holding every permission on the root (3.9's snapshot and restore).</summary>
    public bool RequiresAuthorization { get; init; }

    /// <summary>For commands that need the whole request (its body, its caller) and answer more than JSON.</summary>
    public Func<AdminRequest, Task<AdminResponse>>? Handle { get; init; }
}

/// <summary>
/// The one table of server commands: Apache 3.8's AdminServer commands (/commands/NAME), each
/// answering a JSON object of its fields followed by "command" and "error" with Apache's snake_case
/// keys, and the four-letter words, each the text form of one of them (its text comes from
/// <see cref="FourLetterWordHandler"/>; mntr and monitor share one list of entries). Server state is
/// read on the core thread.
/// </summary>
public sealed class AdminCommands
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private readonly SharpKeeperServer _server;
    private readonly FourLetterWordHandler _words;
    private readonly Dictionary<string, AdminCommand> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AdminCommand> _byWord = new(StringComparer.Ordinal);
    private readonly AdminAuthorization _authorization;

    public AdminCommands(SharpKeeperServer server, FourLetterWordHandler words, SnapshotCommands? snapshots = null)
    {
        _server = server;
        _words = words;
        _authorization = new AdminAuthorization(server);
        All =
        [
            new("configuration", ["conf", "config"], true, Configuration) { Word = "conf", Text = _ => _words.ConfText() },
            new("connection_stat_reset", ["crst"], true, () => OnCoreAsync(() => { _words.ResetConnections(); return []; }))
            {
                Word = "crst",
                Text = _ => _words.Serving(_words.ResetConnections),
            },
            new("connections", ["cons"], true, () => OnCoreAsync(() => Connections(brief: false)))
            {
                Word = "cons",
                Text = requester => _words.Serving(() => _words.Connections(requester)),
            },
            new("dump", [], true, () => OnCoreAsync(Dump)) { Word = "dump", Text = _ => _words.Serving(_words.Dump) },
            new("dirs", [], true, Dirs) { Word = "dirs", Text = _ => _words.DirsText() },
            new("environment", ["env", "envi"], false, Environment) { Word = "envi", Text = _ => Task.Run(EnvironmentReport.Build) },

            // SharpKeeper has no trace-level logging: its trace mask is 0 and cannot be set.
            new("get_trace_mask", ["gtmk"], false, () => Task.FromResult(Fields(("tracemask", 0L)))) { Word = "gtmk", Text = _ => Task.FromResult("0") },
            new("hash", [], true, () => Task.FromResult(Fields(("digests", Array.Empty<object>())))) { Word = "hash", Text = _ => _words.HashText() },
            new("initial_configuration", ["icfg"], false, InitialConfiguration),
            new("is_read_only", ["isro"], true, () => Task.FromResult(Fields(("read_only", _words.ModeInfo.IsReadOnly))))
            {
                Word = "isro",
                Text = _ => _words.IsReadOnlyText(),
            },
            new("last_snapshot", ["lsnp"], true, LastSnapshot),
            new("leader", ["lead"], true, () => Ensemble("leader", () => throw new AdminCommandException("server is not initialized"))),
            new("monitor", ["mntr"], true, Monitor) { Word = "mntr", Text = _ => _words.MonitorText() },
            new("observer_connection_stat_reset", ["orst"], true, () => Ensemble("observer_connection_stat_reset", () => [])),
            new("observers", ["obsr"], true, () => Ensemble("observers", () => Fields(("synced_observers", 0L), ("observers", Array.Empty<object>())))),
            new("restore", ["rest"], true, () => throw new AdminCommandException("restore is POSTed"))
            {
                Method = "POST",
                RequiresAuthorization = true,
                Handle = request => snapshots?.RestoreAsync(request) ?? Task.FromResult(Unavailable("restore")),
            },
            new("ruok", [], false, () => Task.FromResult(new List<KeyValuePair<string, object?>>())) { Word = "ruok", Text = _ => Task.FromResult("imok") },
            new("zabstate", [], false, () => Ensemble("zabstate", () => Fields(("voting", false), ("zabstate", "")))),
            new("server_stats", ["srvr"], true, () => OnCoreAsync(ServerStats))
            {
                Word = "srvr",
                Text = requester => _words.Serving(() => _words.Summary(withClients: false, requester)),
            },
            new("set_trace_mask", ["stmk"], false, SetTraceMask) { Word = "stmk", Text = _ => Task.FromResult("0") },
            new("system_properties", ["sysp"], false, () => Task.FromResult(SystemProperties())),
            new("snapshot", ["snap"], true, () => throw new AdminCommandException("snapshot needs the AdminServer"))
            {
                RequiresAuthorization = true,
                Handle = request => snapshots?.SnapshotAsync(request) ?? Task.FromResult(Unavailable("snapshot")),
            },
            new("stat_reset", ["srst"], true, () => OnCoreAsync(() => { _words.ResetServer(); return []; }))
            {
                Word = "srst",
                Text = _ => _words.Serving(_words.ResetServer),
            },
            new("stats", ["stat"], true, () => OnCoreAsync(() => [.. ServerStats(), .. Connections(brief: true)]))
            {
                Word = "stat",
                Text = requester => _words.Serving(() => _words.Summary(withClients: true, requester)),
            },
            new("voting_view", [], true, () => Ensemble("voting_view", () => Fields(("current_config", new List<KeyValuePair<string, object?>>())))),
            new("watch_summary", ["wchs"], true, () => OnCoreAsync(WatchSummary)) { Word = "wchs", Text = _ => _words.Serving(_words.WatchSummary) },
            new("watches", ["wchc"], true, () => OnCoreAsync(WatchesBySession)) { Word = "wchc", Text = _ => _words.Serving(_words.WatchesBySession) },
            new("watches_by_path", ["wchp"], true, () => OnCoreAsync(WatchesByPath)) { Word = "wchp", Text = _ => _words.Serving(_words.WatchesByPath) },
        ];
        foreach (var command in All)
        {
            _byName[command.Name] = command;
            foreach (var alias in command.Aliases)
            {
                _byName[alias] = command;
            }

            if (command.Word is { } word)
            {
                _byWord[word] = command;
            }
        }
    }

    public IReadOnlyList<AdminCommand> All { get; }

    public AdminCommand? Find(string nameOrAlias) => _byName.GetValueOrDefault(nameOrAlias);

    /// <summary>The command a four-letter word on the client port asks for.</summary>
    public AdminCommand? FindWord(string word) => _byWord.GetValueOrDefault(word);

    /// <summary>
    /// Runs a command as Apache 3.9's AdminServer does: an unknown name and a server not serving are
    /// answered in the JSON (status 200); then the authorization of the commands that require it
    /// (401, 403, with the name as asked); then the command.
    /// </summary>
    public async Task<AdminResponse> ExecuteAsync(string nameOrAlias, AdminRequest request)
    {
        if (Find(nameOrAlias) is not { } command)
        {
            return new([new("command", nameOrAlias), new("error", "Unknown command: " + nameOrAlias)]);
        }

        if (command.NeedsServing && !_words.ModeInfo.IsServing)
        {
            return new([new("command", nameOrAlias), new("error", FourLetterWordHandler.NotServing)]);
        }

        if (command.RequiresAuthorization && await _authorization.CheckAsync(request).ConfigureAwait(false) is { } refusal)
        {
            return new([new("command", nameOrAlias), new("error", refusal.Error)], refusal.Status);
        }

        if (!string.Equals(request.Method, command.Method, StringComparison.OrdinalIgnoreCase) && !(command.Method == "GET" && request.Method == "HEAD"))
        {
            return new([new("command", command.Name), new("error", $"{command.Name} takes {command.Method}, not {request.Method}")], 405);
        }

        if (command.Handle is { } handle)
        {
            return await handle(request).ConfigureAwait(false);
        }

        List<KeyValuePair<string, object?>> fields;
        try
        {
            fields = await command.Run(request.Query).ConfigureAwait(false);
        }
        catch (AdminCommandException e)
        {
            return new([new("error", e.Message), new("command", command.Name)]);
        }

        fields.Add(new("command", command.Name));
        fields.Add(new("error", null));
        return new(fields);
    }

    private static AdminResponse Unavailable(string command) =>
        new([new("command", command), new("error", command + " is served by the AdminServer only")], 503);

    private static List<KeyValuePair<string, object?>> Fields(params (string Key, object? Value)[] fields) =>
        [.. fields.Select(f => new KeyValuePair<string, object?>(f.Key, f.Value))];

    private Task<List<KeyValuePair<string, object?>>> OnCoreAsync(Func<List<KeyValuePair<string, object?>>> report) =>
        _server.Core.InvokeAsync(report).WaitAsync(TimeSpan.FromSeconds(10));

    private Task<List<KeyValuePair<string, object?>>> Configuration()
    {
        var options = _server.Core.Options;
        var config = _server.Config;
        return Task.FromResult(Fields(
            ("client_port", (long)(_server.ClientEndPoint?.Port ?? config.ClientPort ?? 0)),
            ("data_dir", Path.GetFullPath(_server.Store.SnapshotDirectory)),
            ("data_log_dir", Path.GetFullPath(_server.Store.LogDirectory)),
            ("tick_time", (long)options.TickTimeMs),
            ("max_client_cnxns", (long)config.MaxClientCnxns),
            ("min_session_timeout", (long)options.MinSessionTimeoutMs),
            ("max_session_timeout", (long)options.MaxSessionTimeoutMs),
            ("server_id", _words.ModeInfo.ServerId),
            ("client_port_listen_backlog", (long)config.ClientPortListenBacklog)));
    }

    private Task<List<KeyValuePair<string, object?>>> Dirs() => Task.Run(() => Fields(
        ("datadir_size", ProcessFacts.DirectorySize(_server.Store.SnapshotDirectory)),
        ("logdir_size", ProcessFacts.DirectorySize(_server.Store.LogDirectory))));

    private static Task<List<KeyValuePair<string, object?>>> Environment() =>
        Task.Run(() => EnvironmentReport.Entries().Select(e => new KeyValuePair<string, object?>(e.Key, e.Value)).ToList());

    private async Task<List<KeyValuePair<string, object?>>> InitialConfiguration()
    {
        var text = _server.Config.SourceFile is { } file && File.Exists(file) ? await File.ReadAllTextAsync(file).ConfigureAwait(false) : "";
        return Fields(("initial_configuration", text));
    }

    /// <summary>mntr's entries, with numbers as JSON numbers (Apache's monitor command has the same keys and values).</summary>
    private async Task<List<KeyValuePair<string, object?>>> Monitor()
    {
        var openFds = ProcessFacts.OpenFileDescriptors();
        var maxFds = ProcessFacts.MaxFileDescriptors();
        var entries = await _server.Core.InvokeAsync(() => _words.MonitorEntries(openFds, maxFds)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        return [.. entries.Select(e => new KeyValuePair<string, object?>(e.Key, Typed(e.Value)))];
    }

    private static object Typed(string value) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, Invariant, out var whole) ? whole
        : value.Contains('.', StringComparison.Ordinal) && double.TryParse(value, NumberStyles.Float, Invariant, out var real) ? real
        : value;

    private List<KeyValuePair<string, object?>> ServerStats()
    {
        var stats = _server.Core.Stats;
        var clientResponse = Fields(
            ("last_buffer_size", (long)stats.LastResponseSize), ("min_buffer_size", (long)stats.MinResponseSize), ("max_buffer_size", (long)stats.MaxResponseSize));
        var serverStats = Fields(
            ("packets_sent", stats.PacketsSent),
            ("packets_received", stats.PacketsReceived),
            ("fsync_threshold_exceed_count", stats.FsyncThresholdExceeded),
            ("client_response_stats", clientResponse),
            ("data_dir_size", ProcessFacts.DirectorySize(_server.Store.SnapshotDirectory)),
            ("log_dir_size", ProcessFacts.DirectorySize(_server.Store.LogDirectory)),
            ("provider_null", false),
            ("server_state", _words.ModeInfo.Mode),
            ("last_processed_zxid", _server.Core.Tree.LastProcessedZxid),
            ("outstanding_requests", stats.OutstandingRequests),
            ("avg_latency", Math.Round(stats.AverageLatency, 4)),
            ("max_latency", stats.MaxLatency),
            ("min_latency", FourLetterWordHandler.MinLatency(stats)),
            ("num_alive_client_connections", (long)_words.OpenConnections().Count),
            ("uptime", (long)(DateTimeOffset.UtcNow - _server.StartedAt).TotalMilliseconds),
            ("auth_failed_count", stats.AuthFailures.Value),
            ("non_mtlsremote_conn_count", 0L),
            ("non_mtlslocal_conn_count", 0L));
        return Fields(
            ("version", VersionInfo.Full),
            ("read_only", _words.ModeInfo.IsReadOnly),
            ("server_stats", serverStats),
            ("client_response", clientResponse),
            ("node_count", (long)_server.Core.Tree.NodeCount));
    }

    /// <summary>An ensemble member's fields for leader, zabstate and voting_view (read on the core thread); a standalone server's otherwise.</summary>
    private async Task<List<KeyValuePair<string, object?>>> Ensemble(string command, Func<List<KeyValuePair<string, object?>>> standalone)
    {
        var client = _server.ClientEndPoint is { } endPoint ? $"{(endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address)}:{endPoint.Port}" : null;

        // As Apache: a member that is not serving (no quorum server yet) answers the standalone form.
        var fields = await OnCoreAsync(() => _words.ModeInfo.IsServing ? _words.ModeInfo.EnsembleFields(command, client) ?? [] : []).ConfigureAwait(false);
        return fields.Count > 0 ? fields : standalone();
    }

    /// <summary>
    /// The open connections as Apache's ConnectionBean, brief (stats) or with the session's figures
    /// (connections): those of the secure client port under secure_connections, as Apache lists its
    /// secure connection factory's.
    /// </summary>
    private List<KeyValuePair<string, object?>> Connections(bool brief)
    {
        var secure = _server.SecureClientConnections.ToHashSet();
        var connections = new List<object>();
        var secureConnections = new List<object>();
        foreach (var connection in _words.OpenConnections())
        {
            var s = connection.Stats;
            var fields = Fields(
                ("remote_socket_address", connection is Network.ClientConnection c ? $"{c.RemoteEndPoint.Address}:{c.RemoteEndPoint.Port}" : connection.RemoteAddress),
                ("interest_ops", 1L),
                ("outstanding_requests", (long)Math.Max(0, s.Outstanding)),
                ("packets_received", s.PacketsReceived),
                ("packets_sent", s.PacketsSent));
            if (!brief && connection.SessionId != 0)
            {
                var timeout = _server.Core.Sessions.Get(connection.SessionId)?.TimeoutMs ?? (connection as Network.ClientConnection)?.NegotiatedTimeout ?? 0;
                fields.AddRange(Fields(
                    ("session_id", connection.SessionId),
                    ("last_operation", s.LastOperation),
                    ("established", s.EstablishedWallMillis),
                    ("session_timeout", (long)timeout),
                    ("last_cxid", s.LastCxid),
                    ("last_zxid", s.LastZxid),
                    ("last_response_time", _words.LastResponseElapsedMillis(s)),
                    ("last_latency", s.LastLatency),
                    ("min_latency", s.LatencyCount == 0 ? 0 : s.MinLatency),
                    ("avg_latency", s.LatencyCount == 0 ? 0 : s.TotalLatency / s.LatencyCount),
                    ("max_latency", s.MaxLatency)));
            }

            (connection is Network.ClientConnection accepted && secure.Contains(accepted) ? secureConnections : connections).Add(fields);
        }

        return Fields(("connections", connections), ("secure_connections", secureConnections));
    }

    /// <summary>Sessions by expiry time (the monotonic clock, as Apache's) and ephemerals by session.</summary>
    private List<KeyValuePair<string, object?>> Dump()
    {
        var sessions = _server.Core.Sessions.Sessions.Where(s => !s.IsClosing).GroupBy(s => s.ExpiresAt).OrderBy(g => g.Key);
        var byExpiry = sessions.Select(g => new KeyValuePair<string, object?>(g.Key.ToString(Invariant), g.Select(s => (object)s.Id).OrderBy(id => (long)id).ToList())).ToList();
        var ephemerals = _server.Core.Tree.EphemeralsBySession.OrderBy(e => e.Key)
            .Select(e => new KeyValuePair<string, object?>(e.Key.ToString(Invariant), e.Value.Order(StringComparer.Ordinal).Cast<object>().ToList())).ToList();
        return Fields(("expiry_time_to_session_ids", byExpiry), ("session_id_to_ephemeral_paths", ephemerals));
    }

    private List<KeyValuePair<string, object?>> WatchesBySession()
    {
        var watches = _server.Core.Tree.DataWatches.ByWatcher()
            .Select(w => (Session: (w.Watcher as IClientConnection)?.SessionId ?? 0, w.Paths))
            .OrderBy(w => w.Session)
            .Select(w => new KeyValuePair<string, object?>(w.Session.ToString(Invariant), w.Paths.Order(StringComparer.Ordinal).Cast<object>().ToList())).ToList();
        return Fields(("session_id_to_watched_paths", watches));
    }

    private List<KeyValuePair<string, object?>> WatchesByPath()
    {
        var watches = _server.Core.Tree.DataWatches.ByPath().OrderBy(p => p.Path, StringComparer.Ordinal)
            .Select(p => new KeyValuePair<string, object?>(p.Path, p.Watchers.Select(w => (object)((w as IClientConnection)?.SessionId ?? 0)).OrderBy(id => (long)id).ToList())).ToList();
        return Fields(("path_to_session_ids", watches));
    }

    /// <summary>The newest snapshot: its zxid in hex (as Long.toHexString) and its file's time in seconds.</summary>
    private Task<List<KeyValuePair<string, object?>>> LastSnapshot() => Task.Run(() =>
    {
        var snapshots = Persistence.StoreLayout.List(_server.Store.SnapshotDirectory, Persistence.StoreLayout.SnapshotPrefix);
        return snapshots.Count == 0
            ? Fields(("zxid", "0"), ("timestamp", 0L))
            : Fields(("zxid", snapshots[^1].Zxid.ToString("x", Invariant)), ("timestamp", new DateTimeOffset(File.GetLastWriteTimeUtc(snapshots[^1].Path)).ToUnixTimeSeconds()));
    });

    /// <summary>As stmk: SharpKeeper has no trace logging, so the mask stays 0; the argument is still required, as in Apache.</summary>
    private static Task<List<KeyValuePair<string, object?>>> SetTraceMask(IReadOnlyDictionary<string, string> parameters) =>
        parameters.TryGetValue("traceMask", out var mask) && long.TryParse(mask, NumberStyles.AllowLeadingSign, Invariant, out _)
            ? Task.FromResult(Fields(("tracemask", 0L)))
            : throw new AdminCommandException("setTraceMask requires long traceMask argument");

    /// <summary>
    /// What Apache prints as its system properties, sorted by key: the runtime's facts under the JVM
    /// property names envi uses, then the -D flags of SERVER_JVMFLAGS/JVMFLAGS and the zoo.cfg keys
    /// Apache turns into "zookeeper." properties.
    /// </summary>
    private List<KeyValuePair<string, object?>> SystemProperties()
    {
        var properties = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in EnvironmentReport.Entries())
        {
            properties[key] = value;
        }

        foreach (var (key, value) in _server.Config.SystemProperties)
        {
            properties[key] = value;
        }

        return [.. properties.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value))];
    }

    private List<KeyValuePair<string, object?>> WatchSummary()
    {
        var watches = _server.Core.Tree.DataWatches;
        long connections = 0, total = 0;
        foreach (var (_, paths) in watches.ByWatcher())
        {
            connections++;
            total += paths.Count;
        }

        return Fields(("num_connections", connections), ("num_paths", (long)watches.PathCount), ("num_total_watches", total));
    }
}

/// <summary>A command that cannot answer (a missing argument): its message is the response's error.</summary>
public sealed class AdminCommandException(string message) : Exception(message);
