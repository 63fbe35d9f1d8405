using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using SharpKeeper.Protocol;
using SharpKeeper.Server.Admin;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Admin;

/// <summary>
/// Four-letter words over a real socket, checked line by line against the formats Apache
/// ZooKeeper 3.8 prints (as captured from a running Apache 3.8 server).
/// </summary>
public sealed class FourLetterWordTests
{
    private static readonly string Version = Regex.Escape(VersionInfo.Full);

    /// <summary>One session with an ephemeral node, a data watch on it and a child watch on "/".</summary>
    private static async Task<(TestSession Session, string Path)> WatchingSessionAsync(AdminTestServer server)
    {
        var session = await TestSession.ConnectAsync(server.Port);
        var path = $"/eph-{session.SessionId:x}";
        Assert.Equal(ErrorCode.Ok, await session.CreateAsync(path, "abc"u8.ToArray(), CreateMode.Ephemeral));
        Assert.Equal(ErrorCode.Ok, await session.GetDataAsync(path, watch: true));
        Assert.Equal(ErrorCode.Ok, await session.GetChildrenAsync("/", watch: true));
        return (session, path);
    }

    private static void AssertMatches(string pattern, string text) =>
        Assert.True(Regex.IsMatch(text, pattern), $"output does not match {pattern}:\n{text}");

    [Fact]
    public async Task EveryKnownWordIsACommandOfTheOneTableAndAnswersItsText()
    {
        await using var server = await AdminTestServer.StartAsync();
        var words = server.Server.Commands.All.Select(c => c.Word).OfType<string>().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ConfigKeys.FourLetterWords.Order(StringComparer.Ordinal), words);
        Assert.All(server.Server.Commands.All.Where(c => c.Word is not null), c => Assert.NotNull(c.Text));
        Assert.Equal("imok", await server.SendAsync("ruok"));
    }

    [Fact]
    public async Task RuokIsroGtmkAndHashAnswerWithoutNewline()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            Assert.Equal("imok", await server.SendAsync("ruok"));
            Assert.Equal("rw", await server.SendAsync("isro"));
            Assert.Equal("0", await server.SendAsync("gtmk"));
            Assert.Equal("", await server.SendAsync("hash"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task WordsOutsideTheWhitelistAreRefusedAsApacheRefusesThem()
    {
        var server = await AdminTestServer.StartAsync("4lw.commands.whitelist=ruok, conf");
        try
        {
            Assert.Equal("imok", await server.SendAsync("ruok"));
            Assert.StartsWith("clientPort=", await server.SendAsync("conf"));
            Assert.Equal("mntr is not executed because it is not in the whitelist.\n", await server.SendAsync("mntr"));
            Assert.Equal("stat is not executed because it is not in the whitelist.\n", await server.SendAsync("stat"));
            Assert.Equal("envi is not executed because it is not in the whitelist.\n", await server.SendAsync("envi"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task SrvrAndStatPrintApacheSummary()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var (session, _) = await WatchingSessionAsync(server);
            await using var _session = session;

            var srvr = await server.SendAsync("srvr");
            AssertMatches(
                $@"^Zookeeper version: {Version}\nLatency min/avg/max: \d+/\d+\.\d+(E-\d+)?/\d+\nReceived: \d+\nSent: \d+\n" +
                @"Connections: 2\nOutstanding: 0\nZxid: 0x2\nMode: standalone\nNode count: 6\n$",
                srvr);

            // The session's connection received connect + 3 requests and was sent their 4 replies; the asking connection is listed too.
            var (stat, askingPort) = await FourLetter.SendWithPortAsync(server.Port, "stat");
            var expectedClients =
                $" /127.0.0.1:{session.LocalPort}[1](queued=0,recved=4,sent=4)\n" +
                $" /127.0.0.1:{askingPort}[0](queued=0,recved=1,sent=0)\n\n";
            AssertMatches(
                $@"^Zookeeper version: {Version}\nClients:\n{Regex.Escape(expectedClients)}" +
                @"Latency min/avg/max: \d+/\d+\.\d+(E-\d+)?/\d+\nReceived: \d+\nSent: \d+\nConnections: 2\nOutstanding: 0\nZxid: 0x2\nMode: standalone\nNode count: 6\n$",
                stat);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConsPrintsEachConnectionAsDumpConnectionInfo()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var (session, _) = await WatchingSessionAsync(server);
            await using var _session = session;

            var (cons, askingPort) = await FourLetter.SendWithPortAsync(server.Port, "cons");
            var lines = cons.Split('\n');
            Assert.Equal(4, lines.Length);
            AssertMatches(
                $@"^ /127\.0\.0\.1:{session.LocalPort}\[1\]\(queued=0,recved=4,sent=4,sid=0x{session.SessionId:x},lop=GETC,est=\d{{13}},to=30000," +
                $@"lcxid=0x3,lzxid=0x{session.LastZxid:x},lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+\)$",
                lines[0]);

            // A connection without a session shows only the brief part.
            Assert.Equal($" /127.0.0.1:{askingPort}[0](queued=0,recved=1,sent=0)", lines[1]);
            Assert.Equal("", lines[2]);
            Assert.Equal("", lines[3]);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task CrstResetsConnectionStatsAndSrstServerStats()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var (session, _) = await WatchingSessionAsync(server);
            await using var _session = session;

            Assert.Equal("Connection stats reset.\n", await server.SendAsync("crst"));
            var cons = await server.SendAsync("cons");

            // As Apache after a reset: no lcxid, lzxid -1, lop NA and zero latencies.
            Assert.Contains(
                $" /127.0.0.1:{session.LocalPort}[1](queued=0,recved=0,sent=0,sid=0x{session.SessionId:x},lop=NA,est=",
                cons);
            AssertMatches(@",to=30000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0\)\n", cons);

            Assert.Equal("Server stats reset.\n", await server.SendAsync("srst"));
            var srvr = await server.SendAsync("srvr");

            // The srvr word itself is the one packet received since the reset.
            Assert.Contains("\nLatency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\n", srvr);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task MntrPrintsApacheKeysInApacheOrder()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var (session, _) = await WatchingSessionAsync(server);
            await using var _session = session;

            var mntr = await server.SendAsync("mntr");
            Assert.EndsWith("\n", mntr);
            var lines = mntr.TrimEnd('\n').Split('\n').Select(l => l.Split('\t')).ToList();
            Assert.All(lines, l => Assert.Equal(2, l.Length));
            Assert.Equal(
                [
                    "zk_version", "zk_server_state", "zk_ephemerals_count", "zk_num_alive_connections", "zk_avg_latency",
                    "zk_outstanding_requests", "zk_znode_count", "zk_global_sessions", "zk_non_mtls_remote_conn_count",
                    "zk_last_client_response_size", "zk_packets_sent", "zk_packets_received", "zk_max_client_response_size",
                    "zk_connection_drop_probability", "zk_watch_count", "zk_auth_failed_count", "zk_min_latency",
                    "zk_max_file_descriptor_count", "zk_approximate_data_size", "zk_open_file_descriptor_count", "zk_local_sessions",
                    "zk_uptime", "zk_max_latency", "zk_outstanding_tls_handshake", "zk_min_client_response_size", "zk_non_mtls_local_conn_count",
                    "zk_avg_fsynctime", "zk_min_fsynctime", "zk_max_fsynctime", "zk_cnt_fsynctime", "zk_sum_fsynctime",
                    "zk_avg_snapshottime", "zk_min_snapshottime", "zk_max_snapshottime", "zk_cnt_snapshottime", "zk_sum_snapshottime",
                    "zk_connection_rejected", "zk_rejected_frames",
                    "zk_avg_gc_pause_us", "zk_min_gc_pause_us", "zk_max_gc_pause_us", "zk_cnt_gc_pause_us", "zk_sum_gc_pause_us",
                    "zk_heap_bytes", "zk_allocated_bytes",
                ],
                lines.Select(l => l[0]));
            var values = lines.ToDictionary(l => l[0], l => l[1]);
            Assert.Equal(VersionInfo.Full, values["zk_version"]);
            Assert.Equal("standalone", values["zk_server_state"]);
            Assert.Equal("1", values["zk_ephemerals_count"]);
            Assert.Equal("2", values["zk_num_alive_connections"]);
            Assert.Equal("6", values["zk_znode_count"]);
            Assert.Equal("1", values["zk_global_sessions"]);
            Assert.Equal("2", values["zk_watch_count"]);
            Assert.Equal("0.0", values["zk_connection_drop_probability"]);
            Assert.Equal("0", values["zk_outstanding_requests"]);
            Assert.Matches(@"^\d+\.\d+(E-\d+)?$", values["zk_avg_latency"]);

            // The session and its ephemeral were fsynced; the start-up snapshot was taken.
            Assert.True(long.Parse(values["zk_cnt_fsynctime"]) >= 1);
            Assert.Equal("1", values["zk_cnt_snapshottime"]);
            Assert.Matches(@"^\d+\.\d+(E-\d+)?$", values["zk_avg_fsynctime"]);
            foreach (var key in new[] { "zk_min_latency", "zk_max_latency", "zk_packets_sent", "zk_packets_received", "zk_uptime" })
            {
                Assert.Matches(@"^\d+$", values[key]);
            }

            if (OperatingSystem.IsLinux())
            {
                Assert.True(long.Parse(values["zk_open_file_descriptor_count"]) > 0);
                Assert.Matches(@"^(-1|\d+)$", values["zk_max_file_descriptor_count"]);
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task MntrReportsGarbageCollectionPausesAndAllocationsAndSrstResetsThePauses()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            async Task<Dictionary<string, long>> MonitorAsync() =>
                (await server.SendAsync("mntr")).TrimEnd('\n').Split('\n').Select(l => l.Split('\t'))
                    .Where(l => (l[0].Contains("gc_pause") && !l[0].StartsWith("zk_avg", StringComparison.Ordinal)) || l[0].EndsWith("_bytes", StringComparison.Ordinal))
                    .ToDictionary(l => l[0], l => long.Parse(l[1], System.Globalization.CultureInfo.InvariantCulture));

            var before = await MonitorAsync();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);

            // The pause arrives as a runtime event on another thread: poll for it.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            var after = await MonitorAsync();
            while (after["zk_cnt_gc_pause_us"] <= before["zk_cnt_gc_pause_us"] && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
                after = await MonitorAsync();
            }

            Assert.True(after["zk_cnt_gc_pause_us"] > before["zk_cnt_gc_pause_us"], "a forced collection was not seen");
            Assert.True(after["zk_max_gc_pause_us"] >= after["zk_min_gc_pause_us"]);
            Assert.True(after["zk_sum_gc_pause_us"] >= after["zk_max_gc_pause_us"]);
            Assert.True(after["zk_allocated_bytes"] > before["zk_allocated_bytes"]);
            Assert.True(after["zk_heap_bytes"] > 0);

            // Other tests collect meanwhile (the pauses are the process's): the count after the reset
            // may only exceed what collections since the reset explain (a background one pauses twice).
            var collectionsAtReset = GC.CollectionCount(0);
            Assert.Equal("Server stats reset.\n", await server.SendAsync("srst"));
            var reset = await MonitorAsync();
            var collectionsSince = GC.CollectionCount(0) - collectionsAtReset;
            Assert.True(
                reset["zk_cnt_gc_pause_us"] < after["zk_cnt_gc_pause_us"] || after["zk_cnt_gc_pause_us"] <= 1 || reset["zk_cnt_gc_pause_us"] <= 2 * collectionsSince,
                $"{reset["zk_cnt_gc_pause_us"]} pauses counted after the reset, {after["zk_cnt_gc_pause_us"]} before it, {collectionsSince} collections since");
            Assert.True(reset["zk_allocated_bytes"] >= after["zk_allocated_bytes"], "allocation is a running total, not reset");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task WatchWordsListDataWatchesAsApacheDoes()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var (session, path) = await WatchingSessionAsync(server);
            await using var _session = session;
            var (other, otherPath) = await WatchingSessionAsync(server);
            await using var _other = other;

            // The second create fired the first session's child watch on "/"; child watches are not listed anyway.
            Assert.Equal("2 connections watching 2 paths\nTotal watches:2\n", await server.SendAsync("wchs"));
            var (first, second) = session.SessionId < other.SessionId ? ((session, path), (other, otherPath)) : ((other, otherPath), (session, path));
            Assert.Equal(
                $"0x{first.Item1.SessionId:x}\n\t{first.Item2}\n0x{second.Item1.SessionId:x}\n\t{second.Item2}\n\n",
                await server.SendAsync("wchc"));
            var byPath = new[] { (path, session.SessionId), (otherPath, other.SessionId) }.OrderBy(p => p.Item1, StringComparer.Ordinal);
            Assert.Equal(
                string.Concat(byPath.Select(p => $"{p.Item1}\n\t0x{p.Item2:x}\n")) + "\n",
                await server.SendAsync("wchp"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task DumpListsSessionsEphemeralsAndConnections()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var (session, path) = await WatchingSessionAsync(server);
            await using var _session = session;

            var date = @"\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}";
            AssertMatches(
                $@"^SessionTracker dump:\nSession Sets \(1\)/\(1\):\n1 expire at {date}:\n\t0x{session.SessionId:x}\n" +
                $@"ephemeral nodes dump:\nSessions with Ephemerals \(1\):\n0x{session.SessionId:x}:\n\t{Regex.Escape(path)}\n" +
                $@"Connections dump:\nConnections Sets \(1\)/\(1\):\n1 expire at {date}:\n" +
                $@"\tip: /127\.0\.0\.1:{session.LocalPort} sessionId: 0x{session.SessionId:x}\n$",
                await server.SendAsync("dump"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConfAndDirsPrintApacheKeys()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var versionDir = Path.Combine(server.Directory, "version-2");
            var size = Directory.EnumerateFiles(versionDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            Assert.True(size > 0);
            Assert.Equal(
                $"clientPort={server.Port}\nsecureClientPort=-1\ndataDir={versionDir}\ndataDirSize={size}\n" +
                $"dataLogDir={versionDir}\ndataLogSize={size}\ntickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\n" +
                "maxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n",
                await server.SendAsync("conf"));
            Assert.Equal($"datadir_size: {size}\nlogdir_size: {size}\n", await server.SendAsync("dirs"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task EnviPrintsTheJvmKeysWithDotnetValues()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            var envi = await server.SendAsync("envi");
            Assert.StartsWith("Environment:\n", envi);
            Assert.EndsWith("\n", envi);
            var entries = envi["Environment:\n".Length..].TrimEnd('\n').Split('\n').Select(l => l.Split('=', 2)).ToList();
            Assert.Equal(
                [
                    "zookeeper.version", "host.name", "java.version", "java.vendor", "java.home", "java.class.path", "java.library.path",
                    "java.io.tmpdir", "java.compiler", "os.name", "os.arch", "os.version", "user.name", "user.home", "user.dir",
                    "os.memory.free", "os.memory.max", "os.memory.total",
                ],
                entries.Select(e => e[0]));
            var values = entries.ToDictionary(e => e[0], e => e[1]);
            Assert.Equal(VersionInfo.Full, values["zookeeper.version"]);
            Assert.Equal(Environment.Version.ToString(), values["java.version"]);
            Assert.Equal("<NA>", values["java.compiler"]);
            Assert.Equal(Environment.CurrentDirectory, values["user.dir"]);
            Assert.Matches(@"^\d+MB$", values["os.memory.free"]);
            Assert.Matches(@"^\d+MB$", values["os.memory.max"]);
            Assert.Matches(@"^\d+MB$", values["os.memory.total"]);
            if (OperatingSystem.IsLinux())
            {
                Assert.Equal("Linux", values["os.name"]);
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheAskingConnectionIsShownNotReadingAndCountedAsApacheDoes()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            // The network layer passes the asking peer; here an open session stands in for it.
            var (session, _) = await WatchingSessionAsync(server);
            await using var _session = session;
            var cons = await server.Server.Admin.ExecuteAsync("cons", new IPEndPoint(IPAddress.Loopback, session.LocalPort));
            Assert.StartsWith($" /127.0.0.1:{session.LocalPort}[0](queued=0,recved=5,sent=4,sid=", cons);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnotherModeIsReportedByEveryWordThatShowsIt()
    {
        var server = await AdminTestServer.StartAsync();
        try
        {
            server.Server.Admin.ModeInfo = new FakeMode { Mode = "follower", ServerId = 3 };
            Assert.Contains("\nMode: follower\n", await server.SendAsync("srvr"));
            Assert.StartsWith(
                $"zk_version\t{VersionInfo.Full}\nzk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\nzk_ephemerals_count\t",
                await server.SendAsync("mntr"));
            Assert.EndsWith("serverId=3\ninitLimit=10\n", await server.SendAsync("conf"));

            server.Server.Admin.ModeInfo = new FakeMode { Mode = "read-only", IsReadOnly = true };
            Assert.Equal("ro", await server.SendAsync("isro"));
            AssertMatches($@"^Zookeeper version: {Version}\nREAD-ONLY mode; serving only read-only clients\nLatency", await server.SendAsync("srvr"));

            // Not serving (looking for a leader): Apache's answer, but ruok and envi still answer.
            server.Server.Admin.ModeInfo = new FakeMode { Mode = "leaderelection", IsServing = false };
            var notServing = FourLetterWordHandler.NotServing + "\n";
            foreach (var word in new[] { "srvr", "stat", "cons", "mntr", "conf", "dirs", "dump", "wchs", "wchc", "wchp", "crst", "srst" })
            {
                Assert.Equal(notServing, await server.SendAsync(word));
            }

            Assert.Equal("null", await server.SendAsync("isro"));
            Assert.Equal(FourLetterWordHandler.NotServing, await server.SendAsync("hash"));
            Assert.Equal("imok", await server.SendAsync("ruok"));
            Assert.StartsWith("Environment:\n", await server.SendAsync("envi"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private sealed class FakeMode : IServerModeInfo
    {
        public string Mode { get; init; } = "standalone";
        public bool IsServing { get; init; } = true;
        public bool IsReadOnly { get; init; }
        public long ServerId { get; init; }

        public IEnumerable<(string Key, string Value)> MonitorValues => [("peer_state", "following - broadcast")];

        public void AppendConf(StringBuilder text) => text.Append("initLimit=10\n");
    }
}
