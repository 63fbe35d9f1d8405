using System.Net;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Admin;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Network;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server;

/// <summary>A standalone server assembled from a configuration: the core, its log, the client port and the admin words.</summary>
public sealed class SharpKeeperServer : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ITxnLog _log;
    private ClientListener? _listener;
    private Task? _coreLoop;

    public SharpKeeperServer(ServerConfig config, ILoggerFactory loggerFactory, IClock? clock = null)
    {
        Config = config;
        LoggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("SharpKeeper.Server");
        Clock = clock ?? SystemClock.Instance;
        _log = new InMemoryTxnLog();
        Core = new ServerCore(
            new CoreOptions
            {
                TickTimeMs = config.TickTime,
                MinSessionTimeoutMs = config.MinSessionTimeout,
                MaxSessionTimeoutMs = config.MaxSessionTimeout,
                ExtendedTypesEnabled = config.ExtendedTypesEnabled,
                SuperDigest = config.SuperDigest,
                ServerId = config.MyId ?? 1,
                ContainerCheckIntervalMs = config.ContainerCheckIntervalMs,
            },
            Clock,
            _log,
            loggerFactory.CreateLogger("SharpKeeper.Server.Core"));
        Admin = new FourLetterWordHandler(this);
    }

    public ServerConfig Config { get; }
    public ILoggerFactory LoggerFactory { get; }
    public IClock Clock { get; }
    public ServerCore Core { get; }
    public FourLetterWordHandler Admin { get; }
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>The bound client endpoint (the real port when the config asked for port 0).</summary>
    public IPEndPoint? ClientEndPoint => _listener?.LocalEndPoint;

    public int ConnectionCount => _listener?.ConnectionCount ?? 0;

    public void Start()
    {
        if (Config.DataDirIsUnderTmp)
        {
            _logger.LogWarning(
                "dataDir or dataLogDir is under /tmp ({DataDir}, {DataLogDir}): data there is lost on reboot; use a persistent directory",
                Config.DataDir, Config.DataLogDir);
        }

        _coreLoop = Task.Run(() => Core.RunAsync(_stop.Token));
        var address = Config.ClientPortAddress is { Length: > 0 } text ? ParseAddress(text) : IPAddress.IPv6Any;
        var endpoint = new IPEndPoint(address, Config.ClientPort ?? 2181);
        _listener = new ClientListener(
            endpoint,
            Core,
            new NetworkOptions { JuteMaxBuffer = Config.JuteMaxBuffer, MaxClientConnectionsPerIp = Config.MaxClientCnxns },
            LoggerFactory.CreateLogger("SharpKeeper.Server.Network"),
            Admin.ExecuteAsync);
        _listener.Start();
        _logger.LogInformation("SharpKeeper {Version} serving clients on {Endpoint} (standalone)", VersionInfo.Full, _listener.LocalEndPoint);
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
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_coreLoop is not null)
        {
            await _coreLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _log.Dispose();
        _stop.Dispose();
    }
}
