using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using SharpKeeper.Client;

namespace SharpKeeper.Integration.Tests.Infrastructure;

public enum MemberKind
{
    SharpKeeper,
    Apache,
}

/// <summary>
/// One server of a test ensemble on loopback: its ports and data directory stay the same across
/// restarts; it can run as SharpKeeper or as Debian's Apache ZooKeeper 3.8 (so a member can be
/// replaced by the other kind on the same dataDir).
/// </summary>
public sealed partial class EnsembleMember(int id, MemberKind kind, string directory, int clientPort, int quorumPort, int electionPort)
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    public int Id { get; } = id;
    public MemberKind Kind { get; set; } = kind;
    public string Directory { get; } = directory;
    public int ClientPort { get; } = clientPort;
    public int QuorumPort { get; } = quorumPort;
    public int ElectionPort { get; } = electionPort;
    public string ConfigPath => Path.Combine(Directory, "zoo.cfg");
    public string ConnectString => $"127.0.0.1:{ClientPort}";
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>-Dkey=value flags: Apache's java command line, SharpKeeper's SERVER_JVMFLAGS (as an operator passes them to both).</summary>
    public IReadOnlyList<string> JvmFlags { get; set; } = [];

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"server {Id} is already running");
        }

        var start = Kind == MemberKind.SharpKeeper ? new ProcessStartInfo("dotnet") : new ProcessStartInfo("java");
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.WorkingDirectory = Directory;
        // Apache logs through slf4j-simple (Debian's libslf4j-java, which tests/compat/install-deps.sh installs).
        // Apache's TLS code needs Netty on the class path, even between servers.
        var arguments = Kind == MemberKind.SharpKeeper
            ? new[] { RepoPaths.SharpKeeperDll, "start-foreground", ConfigPath }
            : [
                "-Xmx256m",
                .. JvmFlags,
                "-cp", $"/etc/zookeeper/conf_example:/usr/share/java/zookeeper.jar:{ApacheZooKeeperProcess.NettyClasspath}:{ApacheZooKeeperProcess.JettyClasspath}:/usr/share/java/slf4j-simple.jar",
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", ConfigPath,
            ];
        if (Kind == MemberKind.SharpKeeper && JvmFlags.Count > 0)
        {
            start.Environment["SERVER_JVMFLAGS"] = string.Join(' ', JvmFlags);
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        Append($"---- starting server {Id} as {Kind} ----");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    /// <summary>Rewrites this member's zoo.cfg: the lines whose key starts with one of <paramref name="keyPrefixes"/> go, <paramref name="settings"/> are appended.</summary>
    public void ReplaceSettings(IReadOnlyList<string> keyPrefixes, string settings)
    {
        var kept = File.ReadAllLines(ConfigPath)
            .Where(line => !keyPrefixes.Any(prefix => line.TrimStart().StartsWith(prefix, StringComparison.Ordinal)));
        File.WriteAllText(ConfigPath, string.Join('\n', kept) + "\n" + settings + "\n");
    }

    /// <summary>SIGSTOP (frozen: its connections stay open but silent) or SIGCONT, by PID.</summary>
    public async Task SignalAsync(string signal)
    {
        if (_process is { HasExited: false } process)
        {
            var result = await ProcessRunner.RunAsync("kill", ["-s", signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"kill -s {signal} {process.Id} failed: {result.Output}");
            }
        }
    }

    /// <summary>kill -9 by PID.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            await ServerProcessCleanup.KillAsync(process);
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>The Mode srvr reports, or null when the server does not serve (or does not answer).</summary>
    public async Task<string?> ModeAsync()
    {
        var srvr = await FourLetter.SendAsync(ClientPort, "srvr", TimeSpan.FromSeconds(2));
        var match = srvr is null ? null : ModePattern().Match(srvr);
        return match is { Success: true } ? match.Groups[1].Value : null;
    }

    [GeneratedRegex(@"Mode: (\w+)")]
    private static partial Regex ModePattern();
}

/// <summary>
/// An ensemble of real server processes on loopback, any mix of SharpKeeper and Apache ZooKeeper,
/// sharing one zoo.cfg. Every process is killed by PID and the folders removed on dispose.
/// </summary>
public sealed class EnsembleCluster : IAsyncDisposable
{
    private readonly string _root;

    private EnsembleCluster(string root, List<EnsembleMember> members)
    {
        _root = root;
        Members = members;
    }

    public IReadOnlyList<EnsembleMember> Members { get; }

    public EnsembleMember this[int id] => Members[id - 1];

    public string ConnectString => string.Join(",", Members.Select(m => m.ConnectString));

    /// <summary>Creates the members' folders, myid files and the shared configuration (nothing is started).</summary>
    /// <param name="secondAddress">Each server line lists a second address too (127.0.0.2, the same ports), for multiAddress.enabled.</param>
    public static EnsembleCluster Create(IReadOnlyList<MemberKind> kinds, string extraConfig = "", IReadOnlySet<int>? observers = null, bool secondAddress = false)
    {
        var root = Path.Combine(Path.GetTempPath(), "sharpkeeper-ens-" + Guid.NewGuid().ToString("N")[..10]);
        var members = new List<EnsembleMember>();
        for (var i = 0; i < kinds.Count; i++)
        {
            var directory = Path.Combine(root, $"s{i + 1}");
            System.IO.Directory.CreateDirectory(Path.Combine(directory, "data"));
            File.WriteAllText(Path.Combine(directory, "data", "myid"), $"{i + 1}\n");
            members.Add(new EnsembleMember(i + 1, kinds[i], directory, FreePort.Pick(), FreePort.Pick(), FreePort.Pick()));
        }

        observers ??= new HashSet<int>();
        var servers = string.Join("\n", members.Select(m =>
            $"server.{m.Id}=127.0.0.1:{m.QuorumPort}:{m.ElectionPort}{(secondAddress ? $"|127.0.0.2:{m.QuorumPort}:{m.ElectionPort}" : "")}{(observers.Contains(m.Id) ? ":observer" : "")}"));
        foreach (var member in members)
        {
            File.WriteAllText(member.ConfigPath, $"""
                tickTime=500
                initLimit=10
                syncLimit=5
                dataDir={Path.Combine(member.Directory, "data")}
                clientPort={member.ClientPort}
                clientPortAddress=127.0.0.1
                4lw.commands.whitelist=*
                admin.enableServer=false
                {extraConfig}
                {(observers.Contains(member.Id) ? "peerType=observer" : "")}
                {servers}
                """);
        }

        return new EnsembleCluster(root, members);
    }

    public void StartAll()
    {
        foreach (var member in Members)
        {
            member.Start();
        }
    }

    /// <summary>Waits until the running members given report exactly one leader and the rest followers; returns the leader's id.</summary>
    public async Task<int> WaitForLeaderAsync(TimeSpan timeout, IEnumerable<int>? among = null)
    {
        var ids = (among ?? Members.Where(m => m.IsRunning).Select(m => m.Id)).ToList();
        var until = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < until)
        {
            var modes = await Task.WhenAll(ids.Select(id => this[id].ModeAsync()));
            last = string.Join(", ", ids.Zip(modes, (id, mode) => $"{id}={mode ?? "none"}"));
            if (modes.Count(m => m == "leader") == 1 && modes.All(m => m is "leader" or "follower" or "observer"))
            {
                return ids[Array.IndexOf(modes, "leader")];
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no single leader among servers {string.Join(",", ids)} within {timeout}: {last}\n{Logs()}");
    }

    public string Logs() => string.Join("\n", Members.Select(m => $"==== server {m.Id} ({m.Kind}) ====\n{Tail(m.Log, 60)}"));

    private static string Tail(string text, int lines) => string.Join("\n", text.Split('\n').TakeLast(lines));

    /// <summary>A client of one member only (no failover), for reading what that server holds.</summary>
    public static Task<ZooKeeperClient> ConnectAsync(string connectString, TimeSpan? sessionTimeout = null) =>
        ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectString = connectString,
            SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
        });

    /// <summary>The children of a path as one member sees them after a sync.</summary>
    public async Task<IReadOnlyList<string>> ChildrenOnAsync(int id, string path)
    {
        await using var client = await ConnectAsync(this[id].ConnectString);
        await client.SyncAsync(path);
        return (await client.GetChildrenAsync(path)).Children;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            try
            {
                await member.KillAsync();
            }
            catch (InvalidOperationException)
            {
            }
        }

        try
        {
            System.IO.Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
