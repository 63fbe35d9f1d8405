using System.Text.Json;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The AdminServer (HTTP, /commands) of a SharpKeeper process beside Apache 3.8's (Jetty, from
/// Debian's jetty9 packages): each command SharpKeeper has answers, by its name and its aliases,
/// a JSON object with the keys Apache's has (nested objects too) and the same values where they
/// do not depend on timing or on the process.
/// </summary>
public sealed class AdminServerTests(ITestOutputHelper output)
{
    /// <summary>Values that are the server's own (sizes, times, paths, versions, the JVM): compared by key and JSON type only.</summary>
    private static readonly HashSet<string> Volatile =
    [
        "datadir_size", "logdir_size", "data_dir_size", "log_dir_size", "data_dir", "data_log_dir", "client_port", "uptime", "version",
        "open_file_descriptor_count", "max_file_descriptor_count", "approximate_data_size", "tracemask", "packets_received", "packets_sent", "avg_latency",
    ];

    public static TheoryData<string, string> Commands => new()
    {
        { "ruok", "ruok" },
        { "is_read_only", "isro" },
        { "get_trace_mask", "gtmk" },
        { "dirs", "dirs" },
        { "configuration", "conf" },
        { "server_stats", "srvr" },
        { "watch_summary", "wchs" },
        { "hash", "hash" },
        { "connection_stat_reset", "crst" },
        { "stat_reset", "srst" },
        { "unknown_thing", "unknown_thing" },
        { "environment", "envi" },
        { "leader", "lead" },
        { "zabstate", "zabstate" },
        { "voting_view", "voting_view" },
        { "initial_configuration", "icfg" },
        { "observers", "obsr" },
        { "observer_connection_stat_reset", "orst" },
        { "system_properties", "sysp" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task EachCommandAnswersWithApachesKeysAndValues(string name, string alias)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        var apachePort = FreePort.Pick();
        var sharpPort = FreePort.Pick();
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: $"admin.serverAddress=127.0.0.1\nadmin.serverPort={apachePort}");
        await using var sharp = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={sharpPort}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var expected = await GetJsonAsync(http, apachePort, name);
        foreach (var path in new[] { name, alias })
        {
            var actual = await GetJsonAsync(http, sharpPort, path);
            output.WriteLine($"{path}: {actual}");
            if (name is "environment" or "initial_configuration")
            {
                // The process's own facts and its own file: the same keys, and no error.
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(), actual.EnumerateObject().Select(p => p.Name).Order());
                Assert.Equal(JsonValueKind.Null, actual.GetProperty("error").ValueKind);
                continue;
            }

            if (name == "system_properties")
            {
                // The JVM's own properties have no counterpart; the zoo.cfg keys Apache turns into
                // zookeeper.* properties are there with the same values, and the keys are sorted.
                var fromConfig = expected.EnumerateObject().Where(p => p.Name.StartsWith("zookeeper.admin.", StringComparison.Ordinal)).ToList();
                Assert.NotEmpty(fromConfig);
                Assert.All(fromConfig, p => Assert.Equal(
                    p.Name.EndsWith("serverPort", StringComparison.Ordinal) ? sharpPort.ToString(System.Globalization.CultureInfo.InvariantCulture) : p.Value.GetString(),
                    actual.GetProperty(p.Name).GetString()));
                Assert.True(actual.TryGetProperty("java.version", out _));
                var keys = actual.EnumerateObject().Select(p => p.Name).Where(k => k is not ("command" or "error")).ToList();
                Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
                Assert.Equal(JsonValueKind.Null, actual.GetProperty("error").ValueKind);
                continue;
            }

            AssertSameShape(expected, actual, name);
        }
    }

    /// <summary>monitor has every gauge of mntr that Apache has, with the same JSON types, and the same values where they are not the process's own.</summary>
    [Fact]
    public async Task MonitorHasApachesGaugesAndMntrsValues()
    {
        var apachePort = FreePort.Pick();
        var sharpPort = FreePort.Pick();
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: $"admin.serverAddress=127.0.0.1\nadmin.serverPort={apachePort}");
        await using var sharp = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={sharpPort}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var expected = await GetJsonAsync(http, apachePort, "monitor");
        var actual = await GetJsonAsync(http, sharpPort, "mntr");
        var mntr = await FourLetter.SendAsync(sharp.Port, "mntr", TimeSpan.FromSeconds(10)) ?? "";
        var keys = mntr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0]["zk_".Length..]).ToList();
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            Assert.True(actual.TryGetProperty(key, out var value), $"monitor lacks mntr's {key}");
            if (expected.TryGetProperty(key, out var apacheValue))
            {
                Assert.Equal(apacheValue.ValueKind, value.ValueKind);
                if (key is "server_state" or "znode_count" or "ephemerals_count" or "watch_count" or "outstanding_requests" or "global_sessions")
                {
                    Assert.True(Same(apacheValue, value), $"monitor.{key}: Apache {apacheValue}, SharpKeeper {value}");
                }
            }
        }

        Assert.Equal(("monitor", JsonValueKind.Null), (actual.GetProperty("command").GetString(), actual.GetProperty("error").ValueKind));
    }

    /// <summary>
    /// With one session holding an ephemeral and two data watches on each server, the session-level
    /// commands (stats, connections, dump, watches, watches_by_path) have Apache's keys at every
    /// level and the same paths; last_snapshot and set_trace_mask (no argument) answer as Apache's.
    /// </summary>
    [Fact]
    public async Task SessionCommandsShowTheSessionAsApacheDoes()
    {
        var apachePort = FreePort.Pick();
        var sharpPort = FreePort.Pick();
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: $"admin.serverAddress=127.0.0.1\nadmin.serverPort={apachePort}");
        await using var sharp = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={sharpPort}");
        await using var apacheClient = await SessionWithWatchesAsync(apache.Port);
        await using var sharpClient = await SessionWithWatchesAsync(sharp.Port);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        foreach (var (command, alias) in new[] { ("stats", "stat"), ("connections", "cons"), ("dump", "dump"), ("watches", "wchc"), ("watches_by_path", "wchp"), ("last_snapshot", "lsnp") })
        {
            var expected = await GetJsonAsync(http, apachePort, command);
            var actual = await GetJsonAsync(http, sharpPort, alias);
            output.WriteLine($"{command}: {actual}");
            AssertSameKeys(expected, actual, command);
        }

        var watches = await GetJsonAsync(http, sharpPort, "watches_by_path");
        Assert.Equal(["/nope", "/w"], watches.GetProperty("path_to_session_ids").EnumerateObject().Select(p => p.Name).Order());
        var dump = await GetJsonAsync(http, sharpPort, "dump");
        Assert.Equal("/e", dump.GetProperty("session_id_to_ephemeral_paths").EnumerateObject().Single().Value[0].GetString());
        var connections = (await GetJsonAsync(http, sharpPort, "connections")).GetProperty("connections");
        Assert.Equal(sharpClient.SessionId, connections.EnumerateArray().Single().GetProperty("session_id").GetInt64());
        var expectedMask = await GetJsonAsync(http, apachePort, "set_trace_mask");
        var actualMask = await GetJsonAsync(http, sharpPort, "stmk");
        Assert.Equal(expectedMask.GetProperty("error").GetString(), actualMask.GetProperty("error").GetString());
    }

    private static async Task<SharpKeeper.Client.ZooKeeperClient> SessionWithWatchesAsync(int port)
    {
        var client = await SharpKeeper.Client.ZooKeeperClient.ConnectAsync(new SharpKeeper.Client.ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{port}", DefaultWatcher = _ => { } });
        await client.CreateAsync("/w", [1]);
        await client.CreateAsync("/e", [], SharpKeeper.Protocol.CreateMode.Ephemeral);
        await client.GetDataAsync("/w", watch: true);
        await client.ExistsAsync("/nope", watch: true);
        return client;
    }

    /// <summary>
    /// The same keys at every level. Objects keyed by session ids or expiry times (which differ from
    /// server to server) are compared by their values' shapes; arrays by their first elements.
    /// </summary>
    private static void AssertSameKeys(JsonElement expected, JsonElement actual, string where)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{where}: Apache {expected.ValueKind}, SharpKeeper {actual.ValueKind}");
        if (expected.ValueKind == JsonValueKind.Array)
        {
            Assert.True(expected.GetArrayLength() == actual.GetArrayLength() || where.Contains("expiry", StringComparison.Ordinal),
                $"{where}: Apache {expected.GetArrayLength()} items, SharpKeeper {actual.GetArrayLength()}");
            if (expected.GetArrayLength() > 0 && actual.GetArrayLength() > 0)
            {
                AssertSameKeys(expected[0], actual[0], where + "[0]");
            }

            return;
        }

        if (expected.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var keyedByNumbers = expected.EnumerateObject().Any() && expected.EnumerateObject().All(p => long.TryParse(p.Name, out _));
        if (keyedByNumbers)
        {
            // Apache also lists expiry buckets that have emptied; SharpKeeper lists the occupied ones.
            var occupied = expected.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() > 0).ToList();
            Assert.Equal(occupied.Count, actual.EnumerateObject().Count());
            foreach (var (apacheEntry, sharpEntry) in occupied.Zip(actual.EnumerateObject()))
            {
                AssertSameKeys(apacheEntry.Value, sharpEntry.Value, where + ".*");
            }

            return;
        }

        var expectedKeys = expected.EnumerateObject().Select(p => p.Name).Order().ToList();
        var actualKeys = actual.EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.True(expectedKeys.SequenceEqual(actualKeys), $"{where}: Apache has [{string.Join(", ", expectedKeys)}], SharpKeeper [{string.Join(", ", actualKeys)}]");
        foreach (var property in expected.EnumerateObject())
        {
            AssertSameKeys(property.Value, actual.GetProperty(property.Name), where + "." + property.Name);
        }
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, int port, string command)
    {
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/commands/{command}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static void AssertSameShape(JsonElement expected, JsonElement actual, string where)
    {
        Assert.Equal(expected.ValueKind, actual.ValueKind);
        if (expected.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var expectedKeys = expected.EnumerateObject().Select(p => p.Name).Order().ToList();
        var actualKeys = actual.EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.True(expectedKeys.SequenceEqual(actualKeys), $"{where}: Apache has [{string.Join(", ", expectedKeys)}], SharpKeeper [{string.Join(", ", actualKeys)}]");
        foreach (var property in expected.EnumerateObject())
        {
            var value = actual.GetProperty(property.Name);
            Assert.Equal(property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False ? "bool" : property.Value.ValueKind.ToString(),
                value.ValueKind is JsonValueKind.True or JsonValueKind.False ? "bool" : value.ValueKind.ToString());
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                AssertSameShape(property.Value, value, where + "." + property.Name);
            }
            else if (!Volatile.Contains(property.Name))
            {
                Assert.True(Same(property.Value, value), $"{where}.{property.Name}: Apache {property.Value}, SharpKeeper {value}");
            }
        }
    }

    /// <summary>Equal JSON values: numbers by value (0.0 is 0), arrays element by element.</summary>
    private static bool Same(JsonElement a, JsonElement b) => a.ValueKind switch
    {
        _ when a.ValueKind != b.ValueKind => false,
        JsonValueKind.Number => a.GetDouble() == b.GetDouble(),
        JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => Same(p.First, p.Second)),
        _ => a.ToString() == b.ToString(),
    };
}
