using System.Net;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Admin;
using SharpKeeper.Server.Admin.Console;
using SharpKeeper.Server.Metrics;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Network;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum;

namespace SharpKeeper.Server;

/// <summary>A standalone server assembled from a configuration: the core, its log, the client port and the admin words.</summary>
public sealed class SharpKeeperServer : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly FileTxnLog _log;
    private readonly FileStore _store;
    private Task _snapshotWriting = Task.CompletedTask;

    private ConsoleApi? _console;

    /// <summary>Set on the core thread when the AdminServer asked for the snapshot being taken.</summary>
    private TaskCompletionSource<string>? _requestedSnapshot;
    private ClientListener? _listener;
    private ClientListener? _secureListener;
    private Task? _coreLoop;
    private Task? _purgeLoop;

    public SharpKeeperServer(ServerConfig config, ILoggerFactory loggerFactory, IClock? clock = null)
    {
        Config = config;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("SharpKeeper.Server");
        Clock = clock ?? SystemClock.Instance;

        // The stores are read first: an unreadable one stops the start naming its key and file.
        ClientTls = config.ClientTls is { } tls ? new ClientTls(tls, loggerFactory.CreateLogger("SharpKeeper.Server.Network")) : null;
        var storeLogger = loggerFactory.CreateLogger("SharpKeeper.Server.Persistence");
        config.EnsureDataDirectories();
        _store = new FileStore(config.DataDir, config.DataLogDir, storeLogger);
        // An ensemble member keeps its recent committed txns to sync learners by DIFF, starting with the replayed ones.
        var commitLogCount = config.IsStandalone ? 0 : config.CommitLogCount;
        Recovered = _store.Recover(commitLogCount, requireSnapshotWithLogs: !config.SnapshotTrustEmpty);
        _log = new FileTxnLog(config.DataLogDir, config.PreAllocSize, config.ForceSync, storeLogger);
        Core = new ServerCore(
            new CoreOptions
            {
                TickTimeMs = config.TickTime,
                MinSessionTimeoutMs = config.MinSessionTimeout,
                MaxSessionTimeoutMs = config.MaxSessionTimeout,
                ExtendedTypesEnabled = config.ExtendedTypesEnabled,
                SkipAcl = config.SkipAcl,
                ReconfigEnabled = config.ReconfigEnabled,
                LocalSessionsEnabled = config.LocalSessionsEnabled && !config.IsStandalone,
                LocalSessionsUpgradingEnabled = config.LocalSessionsUpgradingEnabled,
                GlobalOutstandingLimit = config.GlobalOutstandingLimit,
                SuperDigest = config.SuperDigest,
                SaslUsers = config.SaslUsers,
                ProviderSchemes = config.AuthProviderSchemes,
                EnforcedAuthSchemes = config.EnforcedAuthSchemes,
                AllowSaslFailedClients = config.AllowSaslFailedClients,
                SaslSuperUser = config.SaslSuperUser,
                ServerId = config.MyId ?? 1,
                ContainerCheckIntervalMs = config.ContainerCheckIntervalMs,
                ContainerMaxPerMinute = config.ContainerMaxPerMinute,
                ContainerMaxNeverUsedIntervalMs = config.ContainerMaxNeverUsedIntervalMs,
                SnapCount = config.SnapCount,
                CommitLogCount = commitLogCount,
            },
            Clock,
            _log,
            loggerFactory.CreateLogger("SharpKeeper.Server.Core"),
            Recovered.Tree);
        Core.RestoreSessions(Recovered.Sessions);
        Core.Committed.Reset(Recovered.HistoryBase, Recovered.RecentTxns);
        Core.SnapshotDue += BeginSnapshot;
        _log.Failed += _ => Core.Post(LogFailedMessage.Instance);
        Admin = new FourLetterWordHandler(this);
        var snapshots = config.Admin is { } admin ? new SnapshotCommands(this, admin, loggerFactory.CreateLogger("SharpKeeper.Server.Admin")) : null;
        Commands = new AdminCommands(this, Admin, snapshots);
        if (!config.IsStandalone)
        {
            Peer = new QuorumPeer(new QuorumContext
            {
                Config = config,
                MyId = config.MyId ?? throw new InvalidOperationException("an ensemble member has a myid"),
                Core = Core,
                Store = _store,
                Log = _log,
                Epochs = new EpochFiles(config.DataDir),
                LoggerFactory = loggerFactory,
            });
            Admin.ModeInfo = Peer;

            // No clients until a leader is established.
            Core.StepDown();
        }
    }

    /// <summary>The ensemble member (null for a standalone server).</summary>
    public QuorumPeer? Peer { get; }

    public ServerConfig Config { get; }
    public ILoggerFactory LoggerFactory { get; }
    public IClock Clock { get; }
    public ServerCore Core { get; }
    public FileStore Store => _store;
    public FileTxnLog TxnLog => _log;
    public RecoveredState Recovered { get; }
    public FourLetterWordHandler Admin { get; }

    /// <summary>The one table of commands behind the four-letter words and the AdminServer.</summary>
    public AdminCommands Commands { get; }

    /// <summary>The Prometheus endpoint, when metricsProvider.className names Apache's Prometheus provider.</summary>
    public MetricsHttpServer? MetricsServer { get; private set; }

    /// <summary>The AdminServer, when admin.enableServer and its port could be bound.</summary>
    public AdminHttpServer? AdminServer { get; private set; }
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>The bound client endpoint (the real port when the config asked for port 0).</summary>
    public IPEndPoint? ClientEndPoint => _listener?.LocalEndPoint;

    /// <summary>The bound secure (TLS) client endpoint; null without secureClientPort.</summary>
    public IPEndPoint? SecureClientEndPoint => _secureListener?.LocalEndPoint;

    /// <summary>TLS for the secure client port, from the ssl.* settings.</summary>
    public ClientTls? ClientTls { get; }

    public int ConnectionCount => (_listener?.ConnectionCount ?? 0) + (_secureListener?.ConnectionCount ?? 0);

    /// <summary>The open client connections, including those not yet handshaken and four-letter-word ones.</summary>
    public IEnumerable<ClientConnection> ClientConnections => [.. _listener?.Connections ?? [], .. _secureListener?.Connections ?? []];

    /// <summary>The connections accepted on secureClientPort (Apache's secure connection factory's).</summary>
    public IEnumerable<ClientConnection> SecureClientConnections => _secureListener?.Connections ?? [];

    public void Start()
    {
        if (Config.DataDirIsUnderTmp)
        {
            _logger.LogWarning(
                "dataDir or dataLogDir is under /tmp ({DataDir}, {DataLogDir}): data there is lost on reboot; use a persistent directory",
                Config.DataDir, Config.DataLogDir);
        }

        // A snapshot right after loading (as ZooKeeper takes one) only when the replay was long enough
        // to be worth saving the next start from; a short replay is cheaper than writing the whole tree.
        // A standalone server takes it as a fuzzy snapshot while already serving, so that a restart
        // is not held up by writing the tree out; an ensemble member writes it before it syncs.
        var snapshotAfterReplay = Recovered.ReplayedTxns >= Math.Max(1, Config.SnapCount / 10);
        if ((snapshotAfterReplay && Peer is not null) || StoreLayout.List(_store.SnapshotDirectory, StoreLayout.SnapshotPrefix).Count == 0)
        {
            var started = Environment.TickCount64;
            _store.WriteSnapshot(Core.Tree, Core.SessionTimeouts(), Config.ForceSync);
            SnapshotTime.Record(Environment.TickCount64 - started);
            snapshotAfterReplay = false;
        }

        _coreLoop = Task.Run(() => Core.RunAsync(_stop.Token));

        // As Apache: the metrics provider starts before the server, and a port it cannot bind stops the start.
        if (Config.Metrics is { } metrics)
        {
            MetricsServer = MetricsHttpServer.StartAsync(metrics, new PrometheusScrape(this), LoggerFactory.CreateLogger("SharpKeeper.Server.Metrics")).GetAwaiter().GetResult();
        }
        if (snapshotAfterReplay)
        {
            Core.Post(SnapshotRequestedMessage.Instance);
        }

        // Before the client port opens, so that a server taking clients answers probes too.
        if (Config.Admin is { } admin)
        {
            var adminLogger = LoggerFactory.CreateLogger("SharpKeeper.Server.Admin");
            _console = admin.ConsoleEnabled ? new ConsoleApi(this, new AdminAuthorization(this), adminLogger) : null;
            AdminServer = AdminHttpServer.StartAsync(admin, Commands, _console, adminLogger).GetAwaiter().GetResult();
        }

        if (Peer is not null)
        {
            Peer.ClientAddressChanged += me => _ = MoveClientPortAsync(me);
            Peer.Start();
        }

        if (Config.AutopurgePurgeInterval > 0)
        {
            _purgeLoop = PurgeLoopAsync(TimeSpan.FromHours(Config.AutopurgePurgeInterval));
        }

        // As Apache: a secure port alone means no plain one; neither means the default plain port.
        if (Config.ClientPort is not null || Config.SecureClientPort is null)
        {
            // client.portUnification: TLS clients are welcome on the plain port too.
            _listener = StartListener(Config.ClientPortAddress, Config.ClientPort ?? 2181, Config.ClientPortUnification ? ClientTls : null, tlsOptional: true);
        }

        if (Config.SecureClientPort is { } securePort)
        {
            _secureListener = StartListener(Config.SecureClientPortAddress ?? Config.ClientPortAddress, securePort, ClientTls, tlsOptional: false);
        }

        var endpoints = string.Join(" and ", new[] { _listener?.LocalEndPoint.ToString(), _secureListener is null ? null : $"{_secureListener.LocalEndPoint} (TLS)" }.OfType<string>());
        if (Peer is null)
        {
            _logger.LogInformation("SharpKeeper {Version} serving clients on {Endpoint} (standalone)", VersionInfo.Full, endpoints);
        }
        else
        {
            _logger.LogInformation(
                "SharpKeeper {Version} server.{Id} of an ensemble of {Count}: clients on {Endpoint}, looking for a leader",
                VersionInfo.Full, Config.MyId, Config.Servers.Count, endpoints);
        }
    }

    private readonly SemaphoreSlim _moving = new(1, 1);

    /// <summary>
    /// A reconfig gave this server another client address: as Apache, the plain client port listens
    /// there from now on, and the clients already connected stay.
    /// </summary>
    private async Task MoveClientPortAsync(ServerSpec me)
    {
        await _moving.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_listener is not { } listener || me.ClientPort is not { } port)
            {
                return;
            }

            var endpoint = new IPEndPoint(me.ClientAddress is { Length: > 0 } text && text != "0.0.0.0" ? ParseAddress(text) : IPAddress.IPv6Any, port);
            if (endpoint.Port == listener.LocalEndPoint.Port && endpoint.Address.Equals(listener.LocalEndPoint.Address))
            {
                return;
            }

            await listener.RebindAsync(endpoint).ConfigureAwait(false);
            _logger.LogInformation("A reconfig moved this server's client port: serving clients on {Endpoint}", listener.LocalEndPoint);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _logger.LogError("A reconfig moved this server's client port to {Address}:{Port}, which cannot be bound: {Message}", me.ClientAddress ?? "0.0.0.0", me.ClientPort, e.Message);
        }
        finally
        {
            _moving.Release();
        }
    }

    private ClientListener StartListener(string? address, int port, ClientTls? tls, bool tlsOptional)
    {
        var ip = address is { Length: > 0 } text ? ParseAddress(text) : IPAddress.IPv6Any;
        var listener = new ClientListener(
            new IPEndPoint(ip, port),
            Core,
            new NetworkOptions
            {
                JuteMaxBuffer = Config.JuteMaxBuffer,
                MaxClientConnectionsPerIp = Config.MaxClientCnxns,
                MaxConnections = Config.MaxCnxns,
                TotalConnections = () => ConnectionCount,
            },
            LoggerFactory.CreateLogger("SharpKeeper.Server.Network"),
            (word, requester) => Admin.ExecuteAsync(word, requester),
            tls,
            tlsOptional);
        listener.Start();
        return listener;
    }

    /// <summary>Every garbage-collection pause of this process (mntr's gc_pause_us).</summary>
    public GcPauseMonitor GcPauses { get; } = new();

    /// <summary>Time to serialize and write each snapshot, in milliseconds (mntr's snapshottime).</summary>
    public MetricSummary SnapshotTime { get; } = new("snapshottime");

    /// <summary>
    /// Runs on the core thread: starts a new log file at the next txn and begins a fuzzy snapshot as
    /// of the last applied zxid, which the core serializes slice by slice while writes go on.
    /// </summary>
    private void BeginSnapshot()
    {
        if (Core.IsSnapshotInProgress || !_snapshotWriting.IsCompleted)
        {
            _logger.LogWarning("Too busy to snapshot, skipping: the previous snapshot is still being taken");
            return;
        }

        _log.RollLog();
        WriteSnapshot(Core.BeginSnapshot());
    }

    /// <summary>
    /// Takes a fuzzy snapshot now, as the snapCount cadence does, and answers the file's path once it
    /// is written (the AdminServer's snapshot command). Refused while another snapshot is being taken.
    /// </summary>
    public async Task<string> TakeSnapshotAsync(CancellationToken cancellationToken = default)
    {
        var written = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = await Core.InvokeAsync(() =>
        {
            if (Core.IsSnapshotInProgress || !_snapshotWriting.IsCompleted)
            {
                return false;
            }

            _requestedSnapshot = written;
            BeginSnapshot();
            return true;
        }).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (!started)
        {
            throw new InvalidOperationException("a snapshot is already being taken");
        }

        return await written.Task.WaitAsync(TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the data tree with a snapshot's (the AdminServer's restore command), as Apache 3.9
    /// does but durable: the restored tree is written as this server's newest snapshot before it
    /// serves, under the zxid the server has reached, so a restart comes back to it and replays only
    /// what follows. The snapshot's sessions join the live ones; watches are dropped, as in Apache.
    /// Only a standalone server restores: an ensemble member would diverge from its quorum.
    /// </summary>
    /// <returns>The newest zxid in the restored snapshot's nodes.</returns>
    public async Task<long> RestoreAsync(Stream snapshot, CancellationToken cancellationToken = default)
    {
        if (Peer is not null)
        {
            throw new InvalidOperationException("restore replaces one server's data: it is supported on a standalone server only");
        }

        var received = Path.Combine(_store.SnapshotDirectory, $"restore-{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(received, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await snapshot.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }

            // Checked in full (magic, every record, the checksum) before anything is replaced.
            var (tree, sessions) = SnapshotFile.Read(received);
            var restoredZxid = NewestZxid(tree);
            var deadline = Environment.TickCount64 + 30_000;
            while (true)
            {
                var swapped = await Core.InvokeAsync(() =>
                {
                    // Between txns: none appended and unapplied, no snapshot being serialized or written.
                    if (Core.OutstandingTxns > 0 || Core.IsSnapshotInProgress || !_snapshotWriting.IsCompleted)
                    {
                        return false;
                    }

                    tree.LastProcessedZxid = Math.Max(restoredZxid, Core.Tree.LastProcessedZxid);
                    foreach (var session in Core.Sessions.Sessions.Where(s => !s.IsClosing))
                    {
                        sessions.TryAdd(session.Id, session.TimeoutMs);
                    }

                    _log.RollLog();
                    _store.WriteSnapshot(tree, sessions, Config.ForceSync);
                    Core.ReplaceTree(tree, sessions);
                    return true;
                }).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                if (swapped)
                {
                    _logger.LogWarning("Data restored from a snapshot: {Nodes} znodes, {Sessions} sessions, newest zxid 0x{Zxid:x}", tree.NodeCount, sessions.Count, restoredZxid);
                    return restoredZxid;
                }

                if (Environment.TickCount64 > deadline)
                {
                    throw new TimeoutException("the server stayed too busy to restore (writes or a snapshot in progress) for 30 s");
                }

                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(received);
        }
    }

    private static long NewestZxid(DataTree tree)
    {
        var newest = 0L;
        var pending = new Stack<DataNode>();
        pending.Push(tree.Root);
        while (pending.TryPop(out var node))
        {
            newest = Math.Max(newest, Math.Max(node.Czxid, Math.Max(node.Mzxid, node.Pzxid)));
            foreach (var (_, child) in node.Children)
            {
                pending.Push(child);
            }
        }

        return newest;
    }

    /// <summary>Runs on the core thread as a snapshot begins: the file is written in the background as the walk goes on.</summary>
    private void WriteSnapshot(FuzzySnapshot snapshot)
    {
        var path = Path.Combine(_store.SnapshotDirectory, StoreLayout.FileName(StoreLayout.SnapshotPrefix, snapshot.Zxid));
        var started = Environment.TickCount64;
        var requested = _requestedSnapshot;
        _requestedSnapshot = null;
        _snapshotWriting = Task.Run(async () =>
        {
            try
            {
                await SnapshotFile.WriteAsync(path, snapshot, Config.ForceSync).ConfigureAwait(false);
                SnapshotTime.Record(Environment.TickCount64 - started);
                _logger.LogInformation("Snapshot written: {File} ({Nodes} znodes, {Bytes} bytes)", path, snapshot.NodesWritten, new FileInfo(path).Length);
                requested?.TrySetResult(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogError("Cannot write snapshot {File}: {Message}", path, e.Message);
                requested?.TrySetException(e);
            }
            catch (OperationCanceledException e)
            {
                _logger.LogInformation("Snapshot {File} abandoned: the server is stopping", path);
                requested?.TrySetException(e);
            }
            finally
            {
                snapshot.Dispose();
            }
        });
    }

    private async Task PurgeLoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                Purge();
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Purge()
    {
        try
        {
            foreach (var file in _store.Purge(Config.AutopurgeSnapRetainCount))
            {
                _logger.LogInformation("Purged {File}", file);
            }
        }
        catch (IOException e)
        {
            _logger.LogWarning("Purge failed: {Message}", e.Message);
        }
    }

    private static IPAddress ParseAddress(string text)
    {
        if (IPAddress.TryParse(text, out var address))
        {
            return address;
        }

        return Dns.GetHostAddresses(text).FirstOrDefault() ?? throw new InvalidOperationException($"cannot resolve clientPortAddress {text}");
    }

    public async ValueTask DisposeAsync()
    {
        if (MetricsServer is not null)
        {
            await MetricsServer.DisposeAsync().ConfigureAwait(false);
        }

        if (AdminServer is not null)
        {
            await AdminServer.DisposeAsync().ConfigureAwait(false);
        }

        if (_console is not null)
        {
            await _console.DisposeAsync().ConfigureAwait(false);
        }

        if (Peer is not null)
        {
            await Peer.DisposeAsync().ConfigureAwait(false);
        }

        if (_secureListener is not null)
        {
            await _secureListener.DisposeAsync().ConfigureAwait(false);
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_coreLoop is not null)
        {
            await _coreLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_purgeLoop is not null)
        {
            await _purgeLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        // The core has stopped: a snapshot it was still serializing will not finish.
        Core.AbandonSnapshot();
        await _snapshotWriting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _log.Dispose();
        _stop.Dispose();
        GcPauses.Dispose();
    }
}
