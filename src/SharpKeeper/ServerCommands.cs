using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SharpKeeper.Server;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Cli;

/// <summary>The server lifecycle commands, with zkServer.sh's output so runbooks keep working.</summary>
public static class ServerCommands
{
    private const string PidFileName = "zookeeper_server.pid";

    public static async Task<int> StartForegroundAsync(string? configPath, CancellationToken cancellationToken)
    {
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss,fff ";
                o.UseUtcTimestamp = false;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            })
            .SetMinimumLevel(LogLevel.Information));
        var logger = loggerFactory.CreateLogger("SharpKeeper");

        ServerConfig config;
        try
        {
            config = LoadConfig(configPath);
        }
        catch (ConfigException e)
        {
            logger.LogError("Invalid configuration: {Message}", e.Message);
            return 2;
        }

        foreach (var warning in config.Warnings)
        {
            logger.LogWarning("{File}:{Line}: {Key}: {Message}", warning.File, warning.Line, warning.Key, warning.Message);
        }

        logger.LogInformation("Using config: {Config}", config.SourceFile ?? "(embedded default)");
        try
        {
            config.EnsureDataDirectories();
        }
        catch (ConfigException e)
        {
            logger.LogError("Cannot start: {Message}", e.Message);
            return 2;
        }

        var pidFile = Path.Combine(config.DataDir, PidFileName);
        File.WriteAllText(pidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopping.Cancel();
        });

        try
        {
            await using var server = new SharpKeeperServer(config, loggerFactory);
            server.Start();

            // Under systemd (Type=notify): ready once the ports are open (an ensemble member then
            // looks for its quorum; waiting for one would block every member's start on the others).
            using var systemd = SystemdNotifier.FromEnvironment();
            systemd?.Notify($"READY=1\nMAINPID={Environment.ProcessId}");
            var watchdog = systemd is not null && SystemdNotifier.WatchdogInterval() is { } interval
                ? WatchdogAsync(server, systemd, interval, stopping.Token)
                : Task.CompletedTask;
            try
            {
                await Task.Delay(Timeout.Infinite, stopping.Token);
            }
            catch (OperationCanceledException)
            {
            }

            systemd?.Notify("STOPPING=1");
            await watchdog.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            logger.LogInformation("Shutting down");
        }
        catch (SocketException e)
        {
            logger.LogError("Cannot serve clients: {Message}", e.Message);
            return 1;
        }
        catch (Exception e) when (e is ConfigException or CorruptStoreException or IOException)
        {
            logger.LogError("Cannot start: {Message}", e.Message);
            return e switch
            {
                ConfigException => 2,
                CorruptStoreException => 3,
                _ => 1,
            };
        }
        finally
        {
            File.Delete(pidFile);
        }

        return 0;
    }

    /// <summary>
    /// Pets systemd's watchdog at half its interval, but only while the request core answers: a
    /// core that hangs stops the petting, and systemd restarts the server.
    /// </summary>
    private static async Task WatchdogAsync(SharpKeeperServer server, SystemdNotifier systemd, TimeSpan interval, CancellationToken cancellationToken)
    {
        var half = interval / 2;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await server.Core.InvokeAsync(() => true).WaitAsync(half, cancellationToken).ConfigureAwait(false);
                systemd.Notify("WATCHDOG=1");
                await Task.Delay(half, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The core did not answer within half the interval: no pet this time.
            }
        }
    }

    public static int Status(string? configPath)
    {
        ServerConfig config;
        try
        {
            config = LoadConfig(configPath);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"Invalid configuration: {e.Message}");
            return 2;
        }

        Console.Error.WriteLine($"Using config: {config.SourceFile ?? "(embedded default)"}");
        var address = string.IsNullOrEmpty(config.ClientPortAddress) ? "localhost" : config.ClientPortAddress;
        var port = config.ClientPort ?? 2181;
        Console.WriteLine($"Client port found: {port}. Client address: {address}. Client SSL: false.");
        var mode = AskMode(address, port);
        if (mode is null)
        {
            Console.WriteLine("Error contacting service. It is probably not running.");
            return 1;
        }

        Console.WriteLine(mode);
        return 0;
    }

    public static int Stop(string? configPath)
    {
        var config = LoadConfig(configPath);
        Console.Error.WriteLine($"Using config: {config.SourceFile ?? "(embedded default)"}");
        var pidFile = Path.Combine(config.DataDir, PidFileName);
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            Console.WriteLine($"Stopping sharpkeeper ... no sharpkeeper to stop (could not find file {pidFile})");
            return 1;
        }

        Console.Write("Stopping sharpkeeper ... ");
        try
        {
            using var process = Process.GetProcessById(pid);

            // SIGTERM first so the server shuts down cleanly; SIGKILL only if it does not within 30 s.
            _ = NativeMethods.Kill(pid, NativeMethods.SigTerm);
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill();
                process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (ArgumentException)
        {
            // Not running any more.
        }

        File.Delete(pidFile);
        Console.WriteLine("STOPPED");
        return 0;
    }

    public static int Version()
    {
        Console.WriteLine($"SharpKeeper version: {VersionInfo.Full}");
        return 0;
    }

    /// <summary>Every configuration key SharpKeeper reads or ignores, from the one table the parser reads from.</summary>
    public static int ConfigKeys()
    {
        Console.WriteLine("key\tkind\tdefault\trange\talso as zookeeper.<key>\tread by");
        foreach (var key in ConfigKeyTable.All.OrderBy(k => k is IgnoredKey).ThenBy(k => k.Name, StringComparer.Ordinal))
        {
            Console.WriteLine($"{key.Name}\t{key.Kind}\t{key.DefaultText}\t{key.RangeText}\t{(key.SystemProperty ? "yes" : "no")}\t{key.ReadBy}");
        }

        return 0;
    }

    /// <summary>zoo.cfg (or the embedded default), with the -D flags an Apache operator sets in SERVER_JVMFLAGS / JVMFLAGS.</summary>
    private static ServerConfig LoadConfig(string? configPath) =>
        configPath is null
            ? ServerConfig.EmbeddedDefault(Environment.CurrentDirectory, Environment.GetEnvironmentVariable)
            : ServerConfig.Load(configPath, Environment.GetEnvironmentVariable);

    /// <summary>Sends srvr and returns its "Mode: ..." line, or null when nothing answers.</summary>
    private static string? AskMode(string host, int port)
    {
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync(host, port).Wait(TimeSpan.FromSeconds(5)))
            {
                return null;
            }

            using var stream = client.GetStream();
            stream.ReadTimeout = 5000;
            stream.Write("srvr"u8);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd();
            return text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Mode:", StringComparison.Ordinal));
        }
        catch (Exception e) when (e is SocketException or IOException or AggregateException)
        {
            return null;
        }
    }

    private static class NativeMethods
    {
        public const int SigTerm = 15;

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
