using System.Diagnostics;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>Debian's Apache ZooKeeper 3.8 standalone on a free loopback port: the oracle of the differential tests.</summary>
public sealed class ApacheZooKeeperProcess : IAsyncDisposable
{
    private const string Jar = "/usr/share/java/zookeeper.jar";

    /// <summary>
    /// Netty, which Apache's TLS (server and Java client) needs and Debian's zookeeper.jar manifest
    /// lists only in part; then slf4j-simple, so that a Java client logs its errors.
    /// </summary>
    public static readonly string NettyClasspath = string.Join(':',
        new[] { "buffer", "codec", "common", "handler", "resolver", "transport", "transport-native-epoll", "transport-native-unix-common" }
            .Select(part => $"/usr/share/java/netty-{part}.jar"));

    /// <summary>Jetty 9 and Jackson, which Apache's AdminServer needs (Debian's jetty9 and jackson packages).</summary>
    public static readonly string JettyClasspath = string.Join(':',
        new[] { "jetty9-server", "jetty9-servlet", "jetty9-http", "jetty9-io", "jetty9-util", "jetty9-security", "servlet-api", "jackson-databind", "jackson-core", "jackson-annotations" }
            .Select(jar => $"/usr/share/java/{jar}.jar"));

    /// <summary>The classpath of Apache's Java client (ZooKeeperMain) with TLS.</summary>
    public static string ClientClasspath => $"{Jar}:{NettyClasspath}:/usr/share/java/slf4j-simple.jar";
    private readonly Process _process;

    private ApacheZooKeeperProcess(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }
    public string Directory { get; }

    public static bool IsInstalled => File.Exists(Jar);

    public bool KeepDirectory { get; init; }

    /// <summary>Starts Apache ZooKeeper; with <paramref name="directory"/> it uses that folder's data (and zoo.cfg extras).</summary>
    public static async Task<ApacheZooKeeperProcess> StartAsync(string? directory = null, string extraConfig = "", IEnumerable<string>? jvmFlags = null)
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException($"{Jar} is missing: run tests/compat/install-deps.sh (Debian package zookeeper)");
        }

        var port = FreePort.Pick();
        var keep = directory is not null;
        directory ??= Path.Combine(Path.GetTempPath(), "apache-zk-it-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "data"));
        var config = Path.Combine(directory, "zoo.cfg");
        await File.WriteAllTextAsync(config, $"""
            tickTime=2000
            dataDir={Path.Combine(directory, "data")}
            clientPort={port}
            clientPortAddress=127.0.0.1
            4lw.commands.whitelist=*
            {(extraConfig.Contains("admin.", StringComparison.Ordinal) ? "" : "admin.enableServer=false")}
            {extraConfig}
            """);
        var start = new ProcessStartInfo("java")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[]
        {
            "-Xmx256m", "-Dzookeeper.extendedTypesEnabled=true", "-Dznode.container.checkIntervalMs=1000",
        }.Concat(jvmFlags ?? []).Concat(
        [
            "-cp", $"/etc/zookeeper/conf_example:{Jar}:{NettyClasspath}:{JettyClasspath}", "org.apache.zookeeper.server.ZooKeeperServerMain", config,
        ]))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ApacheZooKeeperProcess(process, port, directory) { KeepDirectory = keep };
        if (!await FourLetter.WaitUntilServingAsync(port, TimeSpan.FromSeconds(60), () => !process.HasExited))
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"Apache ZooKeeper did not start on port {port}");
        }

        return server;
    }

    public ValueTask DisposeAsync() => ServerProcessCleanup.DisposeAsync(_process, Directory, KeepDirectory);
}
